import ArgumentParser
import Foundation
import UpresEngine
import UpresKit

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List upres's models (or describe model files): cost, parameters, quality, provenance.")

    @Argument(help: ArgumentHelp("Model files to describe (default: the built-in list); ncnn models as NAME.param.", valueName: "path"))
    var paths: [String] = []

    @OptionGroup(title: "ncnn models") var ncnn: NCNNOptions

    func run() throws {
        if paths.isEmpty {
            let embedded = EmbeddedModels.names
            if embedded.isEmpty {
                print("No trained model is built into this binary yet: upscaling uses lanczos unless --model FILE is given.")
            } else {
                print("Built-in trained models (upres-xN is the default for scale N):")
                for name in embedded { try describe(ModelSource.load(name), label: name) }
            }
            print("")
            print("Architectures (luma) measured by `upres bench` with seeded random weights:")
            print("name              MACs/px  params   receptive field  description")
            for spec in ModelZoo.architectures {
                let m = try ModelZoo.randomModel(spec)
                let rf = m.graph.nodes.contains { if case .meanPlusStd = $0.op { return true }; if case .maxPool = $0.op { return true }; return false }
                    ? "global" : String(receptiveField(m))
                print(spec.name.padding(toLength: 18, withPad: " ", startingAt: 0)
                      + String(m.info.macsPerPixel).padding(toLength: 9, withPad: " ", startingAt: 0)
                      + String(m.info.parameters).padding(toLength: 9, withPad: " ", startingAt: 0)
                      + rf.padding(toLength: 17, withPad: " ", startingAt: 0) + spec.summary)
            }
            return
        }
        var failed = false
        for path in paths {
            do {
                try describe(ModelSource.load(path, ncnn: ncnn.overrides), label: path)
            } catch {
                Diagnostics.error("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.failed) }
    }

    private func describe(_ m: Model, label: String) {
        let i = m.info
        print("\(label): \(i.arch) x\(i.scale), \(i.inChannels == 1 ? "luma" : "RGB"), \(i.macsPerPixel) MACs/px, "
              + "\(i.parameters) parameters, receptive field \(i.receptiveField.map(String.init) ?? "global")")
        print("  config: \(i.config)")
        if i.arch == "ncnn" {
            let m = i.metadata
            print("  input: \(m["input_layout"] ?? "")")
            print("  model's own convention: order \(m["colour_order"] ?? "rgb"), range 0-\(m["input_range"] ?? "1") "
                  + "(\(m["input_range_source"] ?? "default")); layers: \(m["ncnn_layer_types"] ?? "")")
            if let b = m["input_border"] { print("  border: \(b)") }
            if let k = m["input_multiple"] { print("  input sizes: multiples of \(k)") }
        }
        for (k, v) in i.provenance.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
        if i.metadata["routing"] != nil { describeRouting(m, label: label) }
    }

    /// The family a model with `routing` metadata heads: its branches, thresholds and the
    /// calibration's validation numbers (docs/routing.md).
    private func describeRouting(_ m: Model, label: String) {
        let family: ModelFamily
        do { family = try ModelFamily(hard: m) { try ModelSource.branch($0, besideOf: label) } } catch {
            print("  routing: \(error)")
            return
        }
        guard family.classifier != nil || family.thresholds != nil else { return }
        // Gradient thresholds, shown after each option they bound from above.
        let t = family.thresholds
        func bound(_ v: Double?) -> String { v.map { String(format: " g < %.3f", $0) } ?? "" }
        var parts = ["flat (lanczos)" + bound(t?.flat)]
        for c in [TileClass.easy, .medium] {
            if let b = family.branches[c] {
                parts.append("\(c.name) \(b.info.name) (\(b.info.macsPerPixel) MACs/px)" + bound(c == .easy ? t?.easy : t?.medium))
            }
        }
        parts.append("hard \(m.info.name)")
        print("  routed family (tile \(family.calibratedTile.map(String.init) ?? "any"), margin \(family.margin)"
              + (t != nil ? ", g = mean |gradient| of the tile" : "") + "): " + parts.joined(separator: ", "))
        if let c = family.classifier {
            print("  classifier \(c.model.info.name) (\(c.model.info.parameters) parameters, "
                  + "\(c.model.info.macsPerPixel) MACs/px) predicts each option's extra error; lambda "
                  + String(format: "%.4g", c.lambda))
        }
        guard let text = m.info.metadata["routing"],
              let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let cal = obj["calibration"] as? [String: Any],
              let val = cal["val_psnr"] as? [String: Any], let ratio = (cal["val_mac_ratio"] as? NSNumber)?.doubleValue
        else { return }
        let others = ["hard", "medium", "easy", "lanczos", "bicubic"].compactMap { k in
            (val[k] as? NSNumber).map { "\(k) " + String(format: "%.2f", $0.doubleValue) }
        }
        let routed = (val["routed"] as? NSNumber).map { String(format: "%.2f", $0.doubleValue) } ?? "?"
        print("  validation (\((cal["val_photos"] as? NSNumber)?.intValue ?? 0) photos, mean Y-PSNR): routed \(routed) dB at "
              + String(format: "%.0f%%", 100 * ratio) + " of the hard branch's MACs; " + others.joined(separator: ", "))
    }

    /// Side of the input window one output pixel depends on, from the conv kernels (chains only).
    private func receptiveField(_ m: Model) -> Int {
        1 + m.graph.nodes.reduce(0) { acc, n in
            if case .conv(let c) = n.op { return acc + (c.kernel - 1) * c.dilation }
            return acc
        }
    }
}
