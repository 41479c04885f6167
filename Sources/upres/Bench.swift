import ArgumentParser
import Foundation
import UpresEngine
import UpresKit

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the network engine: time per frame, megapixels/s, GFLOPS and % of this CPU's peak.",
        discussion: """
            Runs each model on a synthetic frame. Without --model, runs upres's architectures with \
            seeded random weights (labelled 'random'): speed does not depend on weight values. \
            --threads 2 runs two workers side by side, each with its own session and one oneDNN \
            thread, as the tile scheduler does. The peak is measured on this core with an FMA loop.
            """)

    @Option(name: .customLong("model"), help: ArgumentHelp("Model file or built-in model to measure (repeatable).", valueName: "name|path"))
    var models: [String] = []

    @Option(help: ArgumentHelp("Frame size (input of the network).", valueName: "WxH"))
    var size: String = "320x180"

    @Option(help: ArgumentHelp("Worker counts to measure, comma-separated (default: 1 and all cores).", valueName: "list"))
    var threads: String?

    @Option(help: ArgumentHelp("fp32, bf16, int8 or all (default: all this CPU supports).", valueName: "p"))
    var precision: String = "all"

    @Option(help: ArgumentHelp("Seconds per measurement.", valueName: "s"))
    var seconds: Double = 2

    @Flag(help: "One JSON object per measurement on stdout.")
    var json = false

    @Flag(help: "Measure single layers instead (3x3, 1x1 and depthwise 3x3 convolutions, one worker).")
    var layers = false

    @Option(help: ArgumentHelp("Channels in and out of the --layers convolutions (default 64).", valueName: "n"))
    var channels: Int = 64

    @OptionGroup(title: "ncnn models") var ncnn: NCNNOptions

    func validate() throws {
        guard parseSize() != nil else { throw ValidationError("--size must look like 320x180") }
        guard parseThreads() != nil else { throw ValidationError("--threads takes positive numbers, e.g. 1,2") }
        guard ["all", "fp32", "bf16", "int8"].contains(precision) else {
            throw ValidationError("--precision must be fp32, bf16, int8 or all")
        }
        if seconds <= 0 || seconds > 600 { throw ValidationError("--seconds must be between 0 and 600") }
        if channels < 1 || channels > 1024 { throw ValidationError("--channels must be between 1 and 1024") }
    }

    func parseSize() -> (Int, Int)? {
        let p = size.split(separator: "x").compactMap { Int($0) }
        return p.count == 2 && p[0] >= 8 && p[1] >= 8 && p[0] <= 8192 && p[1] <= 8192 ? (p[0], p[1]) : nil
    }

    func parseThreads() -> [Int]? {
        guard let t = threads else {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            return cores > 1 ? [1, cores] : [1]
        }
        let list = t.split(separator: ",").compactMap { Int($0) }
        return list.isEmpty || list.contains(where: { $0 < 1 || $0 > 256 }) ? nil : list
    }

    func run() throws {
        let (w, h) = parseSize()!
        var precisions = Precision.allCases.filter(\.isSupported)
        if precision != "all" {
            guard let p = Precision(rawValue: precision), p.isSupported else {
                Diagnostics.error("--precision \(precision): this CPU has no \(precision) kernels (oneDNN ISA \(Precision.cpuISA))")
                throw ExitCode(ExitStatus.usage)
            }
            precisions = [p]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if layers {
            if !json {
                print("upres bench --layers: \(channels) -> \(channels) channels on \(w)x\(h), one worker, one oneDNN thread; "
                      + "peak per core fp32 " + String(format: "%.1f", Benchmark.peakGFLOPS) + " GFLOPS"
                      + (Benchmark.peakBF16GFLOPS > 0 ? ", bf16 " + String(format: "%.1f", Benchmark.peakBF16GFLOPS) : "")
                      + (Benchmark.peakInt8GOPS > 0 ? ", int8 " + String(format: "%.1f", Benchmark.peakInt8GOPS) + " GOPS" : ""))
                print(pad("layer", 20) + pad("prec", 6) + pad("ms", 9) + pad("GFLOPS", 8) + "% peak")
            }
            for kind in Benchmark.layerKinds {
                for p in precisions {
                    let r = try Benchmark.layer(kind, channels: channels, width: w, height: h, precision: p, seconds: seconds)
                    if json { print(String(decoding: try encoder.encode(r), as: UTF8.self)); continue }
                    print(pad(kind, 20) + pad(r.precision, 6) + pad(String(format: "%.3f", r.ms), 9)
                          + pad(String(format: "%.1f", r.gflops), 8) + String(format: "%.0f%%", r.percent_of_peak))
                }
            }
            return
        }
        var targets: [(Model, String)] = []
        if models.isEmpty {
            for spec in ModelZoo.architectures { targets.append((try ModelZoo.randomModel(spec), "random")) }
        } else {
            for path in models {
                do {
                    targets.append((try ModelSource.load(path, ncnn: ncnn.overrides),
                                    EmbeddedModels.names.contains(path) ? "built-in" : (path.hasSuffix(".param") ? "ncnn" : "file")))
                } catch {
                    Diagnostics.error("\(error)")
                    throw ExitCode(ExitStatus.failed)
                }
            }
        }
        if !json {
            var peaks = "measured peak per core: fp32 " + String(format: "%.1f", Benchmark.peakGFLOPS) + " GFLOPS (FMA loop)"
            if Benchmark.peakBF16GFLOPS > 0 {
                peaks += ", bf16 " + String(format: "%.1f", Benchmark.peakBF16GFLOPS) + " GFLOPS (vdpbf16ps loop)"
            }
            if Benchmark.peakInt8GOPS > 0 {
                peaks += ", int8 " + String(format: "%.1f", Benchmark.peakInt8GOPS) + " GOPS (vpdpbusd loop)"
            }
            print("upres bench: \(w)x\(h) frame, oneDNN ISA \(Precision.cpuISA); \(peaks); % peak is against the run's precision")
            print(pad("model", 18) + pad("weights", 8) + pad("prec", 6) + pad("thr", 4) + pad("MACs/px", 9)
                  + pad("ms/frame", 10) + pad("Mpix/s", 8) + pad("GFLOPS", 8) + "% peak")
        }
        for (model, weights) in targets {
            for p in precisions {
                for t in parseThreads()! {
                    let r = try Benchmark.run(model: model, width: w, height: h, precision: p, workers: t,
                                              seconds: seconds, weights: weights)
                    if json {
                        print(String(decoding: try encoder.encode(r), as: UTF8.self))
                    } else {
                        print(pad(r.model, 18) + pad(r.weights, 8) + pad(r.precision, 6) + pad(String(t), 4)
                              + pad(String(r.macs_per_pixel), 9) + pad(String(format: "%.2f", r.ms_per_frame), 10)
                              + pad(String(format: "%.2f", r.mpix_per_s), 8) + pad(String(format: "%.1f", r.gflops), 8)
                              + String(format: "%.0f%%", r.percent_of_peak))
                        if t == 1 {
                            let total = r.ms_by_kind.values.reduce(0, +)
                            let parts = r.ms_by_kind.sorted { $0.value > $1.value }.prefix(6)
                                .map { "\($0.key) \(String(format: "%.0f", 100 * $0.value / max(total, 1e-9)))%" }
                            print("    time by layer: " + parts.joined(separator: ", "))
                            let convs = r.gflops_by_kind.sorted { $0.key < $1.key }.map { kind, g in
                                "\(kind) \(String(format: "%.0f", g)) (\(String(format: "%.0f", 100 * g / Benchmark.peak(p)))%)"
                            }
                            if !convs.isEmpty { print("    GFLOPS by conv kind (% of peak): " + convs.joined(separator: ", ")) }
                        }
                    }
                }
            }
        }
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}
