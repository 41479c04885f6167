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
