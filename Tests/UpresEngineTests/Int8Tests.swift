import Foundation
import Testing
@testable import UpresEngine

/// int8 sessions (u8/s8 activations with calibrated per-tensor steps, s8 per-channel weights)
/// against fp32 sessions of the same models.
@Suite("int8 inference")
struct Int8Tests {
    /// A picture-like luma input: smooth shading, fine texture and hard edges.
    static func picture(_ w: Int, _ h: Int, phase: Float) -> Tensor {
        var t = Tensor(zeros: .init(1, 1, h, w))
        for y in 0..<h {
            for x in 0..<w {
                let fx = Float(x), fy = Float(y)
                var v = 0.45 + 0.25 * sin(fx / 9 + phase) * cos(fy / 13 - phase) + 0.08 * sin(fx * 1.3 + fy * 0.7 + phase)
                if (x / 11 + y / 17) % 5 == 0 { v += 0.3 }
                t[0, 0, y, x] = min(1, max(0, v))
            }
        }
        return t
    }

    static func psnr(_ a: Tensor, _ b: Tensor) -> Double {
        let mse = zip(a.data, b.data).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.data.count)
        return 10 * log10(1 / max(mse, 1e-12))
    }

    static func calibrated(_ model: Model) throws -> Int8Calibration {
        var calibrator = Int8Calibrator(model: model)
        for phase in [Float(0.3), 1.7] { try calibrator.observe(picture(96, 64, phase: phase)) }
        return calibrator.calibration
    }

    static let goldens = ArchitectureTests.goldens

    @Test("int8 output stays close to fp32, and the convolutions run int8 kernels",
          arguments: ["upres-x2", "upres-x2-easy", "plain-x2-prelu", "plain-x3-leaky", "bsrn-x2-cca"])
    func closeToFP32(_ name: String) throws {
        let model = try name.hasPrefix("upres") ? #require(try EmbeddedModels.model(named: name))
            : Model(contentsOf: Self.goldens.appendingPathComponent("\(name).safetensors"))
        let calibration = try Self.calibrated(model)
        let input = Self.picture(80, 56, phase: 4.1)   // not one of the calibration pictures
        let fp32 = try Session(model: model, input: input.shape, precision: .fp32).run(input)
        let session = try Session(model: model, input: input.shape, precision: .int8, calibration: calibration)
        let int8 = try session.run(input)
        let p = Self.psnr(fp32, int8)
        // Trained models: int8 is within a few hundredths of a dB of fp32 against ground truth
        // (upres calibrate measures it); here the bar is on the raw output difference.
        #expect(p > (name.hasPrefix("upres") ? 44 : 30), "\(name): int8 vs fp32 PSNR \(p) dB")
        #expect(p < 200, "\(name): int8 should not be bit-identical to fp32 (is it really int8?)")
        let convs = session.implementations.filter { $0.kind.contains("conv") }
        #expect(!convs.isEmpty)
        #expect(convs.allSatisfy { $0.implementation.contains("int8") || $0.implementation.contains("x8s8s32x")
                                      || $0.implementation.contains("brg") || $0.implementation.contains("gemm") },
                "\(name): \(convs.map(\.implementation))")
    }

    @Test("the conv chain of the default model stays in int8 between layers")
    func chainStaysInt8() throws {
        let model = try #require(try EmbeddedModels.model(named: "upres-x2"))
        let storage = Session.int8Storage(model.fusedGraph)
        let convs = model.fusedGraph.nodes.indices.filter { if case .conv = model.fusedGraph.nodes[$0].op { return true }; return false }
        // Every conv but the last (read by the pixel shuffle) writes int8.
        #expect(convs.dropLast().allSatisfy { storage[$0] })
        #expect(!storage[convs.last!])
        #expect(!storage[model.fusedGraph.output])
    }

    @Test("clipped ranges come from the sampled tails and stay inside the full ranges")
    func clipped() throws {
        let model = try Model(contentsOf: Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        var calibrator = Int8Calibrator(model: model, samplesPerInput: 4096)
        for phase in [Float(0.3), 1.7] { try calibrator.observe(Self.picture(96, 64, phase: phase)) }
        let full = calibrator.calibration, none = calibrator.calibration(clip: 0), tails = calibrator.calibration(clip: 1e-2)
        #expect(full == none)
        var narrower = 0
        for (f, t) in zip(full.ranges, tails.ranges) {
            #expect(t.name == f.name && t.min >= f.min && t.max <= f.max && t.min <= t.max, "\(f) \(t)")
            if t.max - t.min < 0.99 * (f.max - f.min) { narrower += 1 }
        }
        #expect(narrower > full.ranges.count / 2, "1% tails clipped: most ranges shrink (\(narrower) of \(full.ranges.count))")
    }

    @Test("PReLU models run fast int8 kernels: the PReLU is a pass of its own, never oneDNN's reference kernel")
    func preluNotReference() throws {
        let model = try Model(contentsOf: Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        #expect(model.fusedGraph.nodes.contains { node in
            if case .conv(let c) = node.op { return c.postOps.contains { if case .activation(.prelu) = $0 { return true }; return false } }
            return false
        }, "the fixture fuses PReLU into its convolutions")
        let input = Self.picture(64, 48, phase: 1)
        let session = try Session(model: model, input: input.shape, precision: .int8, calibration: try Self.calibrated(model))
        let refs = session.implementations.filter { $0.implementation.hasPrefix("ref") }
        #expect(refs.isEmpty, "reference kernels: \(refs)")
        #expect(Session.int8Storage(model.fusedGraph).allSatisfy { !$0 }, "PReLU outputs stay f32")
        let fp32 = try Session(model: model, input: input.shape, precision: .fp32).run(input)
        #expect(Self.psnr(fp32, try session.run(input)) > 30)
    }

    @Test("convolutions named in int8_float_nodes run in bf16 on f32 values; all of them give bf16's output")
    func floatNodes() throws {
        let model = try #require(try EmbeddedModels.model(named: "upres-x2"))
        var calibration = try Self.calibrated(model)
        let convs = model.fusedGraph.nodes.filter { if case .conv = $0.op { return true }; return false }.map(\.name)
        let input = Self.picture(80, 56, phase: 4.1)
        let fp32 = try Session(model: model, input: input.shape, precision: .fp32).run(input)
        let int8 = try Session(model: model, input: input.shape, precision: .int8, calibration: calibration).run(input)

        // One layer in bf16: its readers' sources and its own output stay f32.
        calibration.floatNodes = [convs[1]]
        let storage = Session.int8Storage(model.fusedGraph, floatNodes: calibration.floatNodes)
        let index = model.fusedGraph.nodes.firstIndex { $0.name == convs[1] }!
        #expect(!storage[index] && !storage[model.fusedGraph.nodes[index].inputs[0]])
        let one = try Session(model: model, input: input.shape, precision: .int8, calibration: calibration)
        let kinds = one.implementations.filter { $0.kind.contains("conv") }.map(\.implementation)
        #expect(kinds.filter { $0.contains("bf16") }.count == (Precision.bf16.isSupported ? 1 : 0), "\(kinds)")
        #expect(try one.run(input).data != int8.data)

        // Every layer in bf16: the output of a bf16 session, near enough.
        calibration.floatNodes = Set(convs)
        let all = try Session(model: model, input: input.shape, precision: .int8, calibration: calibration).run(input)
        if Precision.bf16.isSupported {
            let bf16 = try Session(model: model, input: input.shape, precision: .bf16).run(input)
            #expect(Self.psnr(all, bf16) > 50, "\(Self.psnr(all, bf16)) dB from bf16")
        }
        #expect(Self.psnr(all, fp32) > Self.psnr(int8, fp32), "bf16 layers are closer to fp32 than int8 ones")

        // Through the metadata, and refused when a name is not a convolution of the graph.
        let url = Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors")
        let golden = try Model(contentsOf: url)
        var c = try Self.calibrated(golden)
        c.floatNodes = [golden.fusedGraph.nodes.first { if case .conv = $0.op { return true }; return false }!.name]
        var meta = try SafeTensorsFile(contentsOf: url).metadata
        meta[Int8Calibration.metadataKey] = c.metadataValue
        meta[Int8Calibration.floatKey] = c.floatMetadataValue
        let again = try Model(file: SafeTensorsFile(data: SafeTensorsFile.replacingMetadata(in: Data(contentsOf: url), with: meta)), name: "a")
        #expect(try Int8Calibration(model: again) == c)
        meta[Int8Calibration.floatKey] = "[\"input\"]"
        let bad = try Model(file: SafeTensorsFile(data: SafeTensorsFile.replacingMetadata(in: Data(contentsOf: url), with: meta)), name: "b")
        #expect(throws: ModelFileError.self) { try Int8Calibration(model: bad) }
    }

    @Test("the calibration round-trips through model metadata, and is refused for another graph")
    func metadata() throws {
        let url = Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors")
        let model = try Model(contentsOf: url)
        let calibration = try Self.calibrated(model)
        var meta = try SafeTensorsFile(contentsOf: url).metadata
        meta[Int8Calibration.metadataKey] = calibration.metadataValue
        meta[Int8Calibration.deltaKey] = "-0.0123"
        let data = try SafeTensorsFile.replacingMetadata(in: Data(contentsOf: url), with: meta)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        let again = try Model(file: SafeTensorsFile(data: data), name: "again")
        #expect(try Int8Calibration(model: again) == calibration)
        #expect(again.info.int8Allowed)
        #expect(again.info.int8Delta == -0.0123)
        #expect(try again.graph.nodes.count == Model(contentsOf: url).graph.nodes.count, "tensors kept")
        let input = Self.picture(40, 32, phase: 2)
        let out1 = try Session(model: again, input: input.shape, precision: .int8).run(input)
        let out2 = try Session(model: model, input: input.shape, precision: .int8, calibration: calibration).run(input)
        #expect(out1.data == out2.data, "the file's calibration is the one used")

        // Another model's ranges: refused with the reason.
        let other = try #require(try EmbeddedModels.model(named: "upres-x2"))
        meta[Int8Calibration.metadataKey] = try Self.calibrated(other).metadataValue
        let wrong = try Model(file: SafeTensorsFile(data: SafeTensorsFile.replacingMetadata(in: Data(contentsOf: url), with: meta)),
                              name: "wrong")
        #expect(throws: ModelFileError.self) { try Int8Calibration(model: wrong) }
        do { _ = try Session(model: wrong, input: input.shape, precision: .int8); Issue.record("accepted") } catch {
            #expect("\(error)".contains("different graph"), "\(error)")
        }
        // A check that lost too much keeps auto away from int8.
        meta[Int8Calibration.metadataKey] = calibration.metadataValue
        meta[Int8Calibration.deltaKey] = "-0.2"
        let lossy = try Model(file: SafeTensorsFile(data: SafeTensorsFile.replacingMetadata(in: Data(contentsOf: url), with: meta)),
                              name: "lossy")
        #expect(!lossy.info.int8Allowed)
    }

    @Test("a model without calibration cannot run int8, and says how to get one")
    func uncalibrated() throws {
        let model = try #require(try EmbeddedModels.model(named: "upres-x2-medium"))
        #expect(!model.info.int8Allowed || model.info.metadata[Int8Calibration.metadataKey] != nil)
        let stripped = try Model(contentsOf: Self.goldens.appendingPathComponent("plain-x2-prelu.safetensors"))
        do { _ = try Session(model: stripped, input: .init(1, 1, 16, 16), precision: .int8); Issue.record("accepted") } catch {
            #expect("\(error)".contains("upres calibrate"), "\(error)")
        }
    }
}
