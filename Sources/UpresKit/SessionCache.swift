import Foundation
import UpresEngine

/// One worker's engine sessions, by model and window shape (merged windows come in a few
/// sizes), the least recently used dropped beyond `capacity`. Each entry keeps the session's
/// multiply-adds for the statistics.
struct SessionCache {
    private struct Entry {
        let session: Session
        let multiplyAdds: Double
        var used: Int
    }

    let capacity: Int
    private var entries: [String: Entry] = [:]
    private var clock = 0

    init(capacity: Int) {
        precondition(capacity >= 1, "a session cache holds at least one session")
        self.capacity = capacity
    }

    /// Adds a session made elsewhere (the pipeline's check that the shapes run), so its
    /// kernels and reordered weights are not made twice.
    mutating func insert(_ session: Session, _ model: Model) throws {
        let shape = session.inputShape
        clock += 1
        entries["\(model.info.name)|\(shape.c)x\(shape.h)x\(shape.w)"] =
            Entry(session: session, multiplyAdds: Double(try model.fusedGraph.multiplyAdds(input: shape)), used: clock)
    }

    /// The session of `model` on `shape`, made on first use.
    mutating func session(_ model: Model, _ shape: Tensor.Shape, _ precision: Precision) throws -> (Session, Double) {
        clock += 1
        let key = "\(model.info.name)|\(shape.c)x\(shape.h)x\(shape.w)"
        if var e = entries[key] {
            e.used = clock
            entries[key] = e
            return (e.session, e.multiplyAdds)
        }
        if entries.count >= capacity, let oldest = entries.min(by: { $0.value.used < $1.value.used })?.key {
            entries[oldest] = nil
        }
        let session = try Session(model: model, input: shape, precision: precision)
        let macs = Double(try model.fusedGraph.multiplyAdds(input: shape))
        entries[key] = Entry(session: session, multiplyAdds: macs, used: clock)
        return (session, macs)
    }
}

extension SessionCache {
    /// Each of `workers` workers' sessions of every model on `shape`, made side by side;
    /// `check` turns each result into the session (or the error to throw).
    static func make(_ models: [Model], _ shape: Tensor.Shape, _ precision: Precision, workers: Int,
                     check: (Model, Result<Session, Error>) throws -> Session) throws -> [[(Session, Model)]] {
        let made = LockedResults<Result<Session, Error>>(count: workers * models.count)
        DispatchQueue.concurrentPerform(iterations: workers * models.count) { k in
            made.set(k, Result { try Session(model: models[k % models.count], input: shape, precision: precision) })
        }
        return try (0..<workers).map { w in
            try models.indices.map { i in (try check(models[i], made.get(w * models.count + i)), models[i]) }
        }
    }
}
