import Foundation
import Testing
@testable import UpresEngine

/// Weights are packed for the kernels once per model and layout and shared by its sessions.
@Suite("packed weights shared by sessions")
struct PackedWeightsTests {
    static func model(_ name: String) throws -> Model {
        try Model(contentsOf: ArchitectureTests.goldens.appendingPathComponent("\(name).safetensors"))
    }

    static func convolutions(_ model: Model) -> Int {
        model.fusedGraph.nodes.filter { if case .conv = $0.op { return true } else { return false } }.count
    }

    @Test("a second session of the same model packs nothing and computes the same output",
          arguments: ["plain-x2-prelu", "bsrn-x2-cca"])
    func secondSessionShares(_ name: String) throws {
        let model = try Self.model(name)
        let input = Int8Tests.picture(48, 40, phase: 0.9)
        let first = try Session(model: model, input: input.shape, precision: .fp32)
        let packed = model.packedWeights.count
        #expect(packed == Self.convolutions(model), "\(name): one packed copy per convolution")
        let second = try Session(model: model, input: input.shape, precision: .fp32)
        #expect(model.packedWeights.count == packed, "\(name): the second session packed its weights again")
        // The same bits as a session of a separately loaded model (nothing shared with it).
        let alone = try Session(model: try Self.model(name), input: input.shape, precision: .fp32).run(input)
        #expect(try first.run(input).data == alone.data)
        #expect(try second.run(input).data == alone.data)
    }

    @Test("another precision packs its own copies; each precision still matches an unshared session")
    func precisionsPackSeparately() throws {
        guard Precision.bf16.isSupported else { return }
        let model = try Self.model("plain-x2-prelu")
        let input = Int8Tests.picture(40, 32, phase: 2.2)
        _ = try Session(model: model, input: input.shape, precision: .fp32)
        let fp32Copies = model.packedWeights.count
        let bf16 = try Session(model: model, input: input.shape, precision: .bf16).run(input)
        #expect(model.packedWeights.count == 2 * fp32Copies, "bf16 weights need their own layout and type")
        let alone = try Session(model: try Self.model("plain-x2-prelu"), input: input.shape, precision: .bf16).run(input)
        #expect(bf16.data == alone.data)
    }

    @Test("int8 weights are packed once per set of scales and shared")
    func int8Shares() throws {
        guard Precision.int8.isSupported else { return }
        let model = try Self.model("plain-x2-prelu")
        let calibration = try Int8Tests.calibrated(model)
        let input = Int8Tests.picture(40, 32, phase: 3.1)
        let a = try Session(model: model, input: input.shape, precision: .int8, calibration: calibration).run(input)
        let packed = model.packedWeights.count
        let b = try Session(model: model, input: input.shape, precision: .int8, calibration: calibration).run(input)
        #expect(model.packedWeights.count == packed)
        #expect(a.data == b.data)
    }

    @Test("sessions made side by side on several threads share the packed weights and agree")
    func concurrentSessions() throws {
        let model = try Self.model("bsrn-x2-cca")
        let input = Int8Tests.picture(40, 32, phase: 1.4)
        let outputs = LockedOutputs(count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            outputs.set(k, Result { try Session(model: model, input: input.shape, precision: .fp32).run(input).data })
        }
        let results = try outputs.all()
        #expect(model.packedWeights.count == Self.convolutions(model))
        #expect(results.allSatisfy { $0 == results[0] })
    }
}

/// Results written by concurrent iterations, one slot each.
private final class LockedOutputs: @unchecked Sendable {
    private var slots: [Result<[Float], Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ k: Int, _ r: Result<[Float], Error>) { lock.withLock { slots[k] = r } }
    func all() throws -> [[Float]] { try lock.withLock { try slots.map { try $0!.get() } } }
}
