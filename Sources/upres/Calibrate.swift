import ArgumentParser
import Foundation
import UpresEngine
import UpresKit

struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Calibrate a model for int8: measure its activation ranges, and what int8 costs it in PSNR.",
        discussion: """
            Runs the model in fp32 on the --images pictures (their luma for luma models, RGB for RGB \
            models), downscaled by the model's scale (bicubic), and records the range of every value \
            of its graph; the tails of those ranges are clipped by the fraction (0 to 1e-3) with which \
            int8 restores some of these pictures best. Where int8 still loses more than 0.025 dB on \
            them, the convolutions it hurts most run in bf16 (metadata int8_float_nodes), most \
            helpful first, up to half of the multiply-adds. Then upscales each --validation picture in \
            fp32 and in int8 and measures both against the original (Y-PSNR, 8-bit, border of the \
            scale). Writes the model with the ranges (metadata int8_ranges), the PSNR of int8 minus \
            fp32 (int8_psnr_delta_db) and the details (int8_check) to --output. An ncnn model \
            (NAME.param) is left as it is: its calibration goes beside it, in NAME.int8.json, which \
            upres reads whenever it loads NAME.param. \
            --precision auto uses int8 only where the CPU has VNNI and that delta is within 0.05 dB. \
            Use the model's training pictures for --images and held-out ones for --validation.
            """)

    @Argument(help: ArgumentHelp("Model file (.safetensors or ncnn NAME.param) or built-in model.", valueName: "model"))
    var model: String

    @Option(name: .customLong("images"), help: ArgumentHelp("Calibration picture, or folder of them (repeatable).", valueName: "path"))
    var images: [String] = []

    @Option(name: .customLong("validation"), help: ArgumentHelp("Held-out picture, or folder of them, for the int8 check (repeatable).", valueName: "path"))
    var validation: [String] = []

    @Option(name: [.short, .long], help: ArgumentHelp("The calibrated model file to write (not for ncnn models: NAME.int8.json beside NAME.param).",
                                                      valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("Use at most this many calibration pictures, evenly spaced (default 24).", valueName: "n"))
    var maxImages: Int = 24

    @Flag(help: "Replace --output if it exists.")
    var overwrite = false

    func validate() throws {
        if images.isEmpty { throw ValidationError("--images is required: the pictures to measure ranges on") }
        if validation.isEmpty { throw ValidationError("--validation is required: held-out pictures for the int8 check") }
        if maxImages < 1 { throw ValidationError("--max-images must be at least 1") }
        if output == nil && !isNCNN { throw ValidationError("--output is required: the calibrated model file to write") }
    }

    /// Tail fractions tried for the activation ranges (0: the full range seen).
    static let clips = [0, 1e-5, 1e-4, 1e-3]

    static let pictureExtensions: Set<String> = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"]

    static func pictures(_ paths: [String], option: String) throws -> [String] {
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                Diagnostics.error("\(option) \(p): no such file or folder")
                throw ExitCode(ExitStatus.failed)
            }
            if !isDir.boolValue { out.append(p); continue }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []
            let found = names.filter { pictureExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
            if found.isEmpty {
                Diagnostics.error("\(option) \(p): no pictures (\(pictureExtensions.sorted().joined(separator: ", "))) in this folder")
                throw ExitCode(ExitStatus.failed)
            }
            out += found.map { (p as NSString).appendingPathComponent($0) }
        }
        return out
    }

    var isNCNN: Bool { model.hasSuffix(".param") || model.hasSuffix(".bin") }
    var ncnnParam: URL { URL(fileURLWithPath: model).deletingPathExtension().appendingPathExtension("param") }

    func run() throws {
        let fm = FileManager.default
        var source = Data()
        let loaded: Model
        let output: String
        do {
            if isNCNN {
                let sidecar = NCNNInt8Sidecar.url(forParam: ncnnParam).path
                if let o = self.output, URL(fileURLWithPath: o).standardizedFileURL.path != URL(fileURLWithPath: sidecar).standardizedFileURL.path {
                    throw ModelFileError("\(model): an ncnn model's calibration goes beside it, in \(sidecar), not \(o)")
                }
                output = sidecar
                loaded = try Model(ncnnParam: ncnnParam, readInt8Sidecar: false)   // a stale one is being replaced
            } else {
                output = self.output!
                loaded = try ModelSource.load(model)
                source = fm.fileExists(atPath: model) ? try Data(contentsOf: URL(fileURLWithPath: model)) : EmbeddedModels.data(named: model)!
            }
            guard loaded.info.arch != "classifier" else {
                throw ModelFileError("\(model): a tile classifier; classifiers run in fp32 and need no calibration")
            }
        } catch {
            Diagnostics.error("\(error)")
            throw ExitCode(ExitStatus.failed)
        }
        if fm.fileExists(atPath: output) && !overwrite && output != model {
            Diagnostics.error("\(output): exists (use --overwrite to replace it)")
            throw ExitCode(ExitStatus.failed)
        }
        var calibrationFiles = try Calibrate.pictures(images, option: "--images")
        if calibrationFiles.count > maxImages {
            let step = Double(calibrationFiles.count) / Double(maxImages)
            calibrationFiles = (0..<maxImages).map { calibrationFiles[Int(Double($0) * step)] }
        }
        let validationFiles = try Calibrate.pictures(validation, option: "--validation")
        let scale = loaded.info.scale, channels = loaded.info.inChannels
        do {
            var calibrator = Int8Calibrator(model: loaded)
            // Some calibration pictures (evenly spread, so every folder counts) choose the clipping.
            let chooseOn = Set((0..<min(6, calibrationFiles.count)).map { $0 * calibrationFiles.count / min(6, calibrationFiles.count) })
            var choosers: [PicturePair] = []
            for (k, file) in calibrationFiles.enumerated() {
                let pair = try PicturePair(path: file, scale: scale, channels: channels)
                try calibrator.observe(pair.low)
                if chooseOn.contains(k) { choosers.append(pair) }
                Diagnostics.write("upres calibrate: ranges \(k + 1)/\(calibrationFiles.count) \(file)")
            }
            // The clipping of the ranges' tails that int8 restores the calibration pictures best
            // with (Y-PSNR against their HR); the held-out check below only measures the choice.
            var choice: (clip: Double, psnr: Double)? = nil
            var tried: [[Double]] = []
            for clip in Calibrate.clips {
                let c = calibrator.calibration(clip: clip)
                var sum = 0.0
                for pair in choosers {
                    let out = try Session(model: loaded, input: pair.low.shape, precision: .int8, calibration: c).run(pair.low)
                    sum += pair.psnr(out, border: scale)
                }
                let mean = sum / Double(choosers.count)
                tried.append([clip, Calibrate.round(mean)])
                if choice.map({ mean > $0.psnr }) ?? true { choice = (clip, mean) }
            }
            let clip = choice!.clip
            Diagnostics.write("upres calibrate: clipping \(clip) of each tail (" + tried.map { "\($0[0]): \($0[1]) dB" }.joined(separator: ", ")
                              + " on \(choosers.count) calibration pictures)")
            var calibration = calibrator.calibration(clip: clip)
            // Where int8 still loses more than half the tolerance on (the centres of) those
            // pictures, the convolutions it hurts most run in bf16.
            let search = try Int8FloatSearch(model: loaded, pairs: choosers.map { $0.centre(side: 320) },
                                             threads: ProcessInfo.processInfo.activeProcessorCount)
                .run(calibration) { Diagnostics.write("upres calibrate: \($0)") }
            calibration.floatNodes = search.floatNodes
            if !search.floatNodes.isEmpty {
                Diagnostics.write("upres calibrate: \(search.floatNodes.count) convolutions in bf16 ("
                                  + String(format: "%.0f%% of the multiply-adds", search.floatShare * 100) + "): "
                                  + search.floatNodes.sorted().joined(separator: ", "))
            }
            var rows: [[String: Any]] = []
            for file in validationFiles {
                let pair = try PicturePair(path: file, scale: scale, channels: channels)
                let fp32 = try Session(model: loaded, input: pair.low.shape, precision: .fp32).run(pair.low)
                let int8 = try Session(model: loaded, input: pair.low.shape, precision: .int8, calibration: calibration).run(pair.low)
                let a = pair.psnr(fp32, border: scale), b = pair.psnr(int8, border: scale)
                rows.append(["image": (file as NSString).lastPathComponent, "fp32_psnr": Calibrate.round(a), "int8_psnr": Calibrate.round(b)])
                Diagnostics.write("upres calibrate: check \(rows.count)/\(validationFiles.count) \(file): fp32 "
                                  + String(format: "%.3f", a) + " dB, int8 " + String(format: "%.3f", b) + " dB")
            }
            let fp32Mean = rows.map { $0["fp32_psnr"] as! Double }.reduce(0, +) / Double(rows.count)
            let int8Mean = rows.map { $0["int8_psnr"] as! Double }.reduce(0, +) / Double(rows.count)
            let delta = int8Mean - fp32Mean
            var metadata = loaded.info.metadata
            metadata[Int8Calibration.metadataKey] = calibration.metadataValue
            metadata[Int8Calibration.deltaKey] = String(format: "%.4f", delta)
            metadata[Int8Calibration.floatKey] = calibration.floatMetadataValue
            let check: [String: Any] = ["calibration_images": calibrationFiles.map { ($0 as NSString).lastPathComponent },
                                        "clip": clip, "clip_tried": tried,
                                        "bf16_layers": calibration.floatNodes.sorted(),
                                        "bf16_share_of_macs": Calibrate.round(search.floatShare),
                                        "search_psnr": ["fp32": Calibrate.round(search.fp32), "int8": Calibrate.round(search.int8),
                                                        "mixed": Calibrate.round(search.mixed)],
                                        "validation": rows, "fp32_psnr": Calibrate.round(fp32Mean),
                                        "int8_psnr": Calibrate.round(int8Mean), "lr": "bicubic (swscale)",
                                        "pictures": channels == 3 ? "RGB 8-bit full range, PSNR on BT.601 Y" : "luma BT.601 limited, 8-bit",
                                        "border": scale]
            metadata["int8_check"] = String(decoding: try JSONSerialization.data(withJSONObject: check, options: [.sortedKeys, .withoutEscapingSlashes]),
                                            as: UTF8.self)
            if isNCNN {
                let weights = [UInt8](try Data(contentsOf: ncnnParam.deletingPathExtension().appendingPathExtension("bin")))
                try NCNNInt8Sidecar.encode(metadata: metadata, weights: weights).write(to: URL(fileURLWithPath: output), options: .atomic)
                _ = try Model(ncnnParam: ncnnParam)   // reads back
            } else {
                let bytes = try SafeTensorsFile.replacingMetadata(in: source, with: metadata)
                _ = try Model(file: SafeTensorsFile(data: bytes), name: loaded.info.name)   // reads back
                try bytes.write(to: URL(fileURLWithPath: output), options: .atomic)
            }
            print("\(output): int8 calibrated on \(calibrationFiles.count) pictures; check on \(rows.count): fp32 "
                  + String(format: "%.3f", fp32Mean) + " dB, int8 " + String(format: "%.3f", int8Mean) + " dB, delta "
                  + String(format: "%+.4f", delta) + " dB (" + (delta >= -Int8Calibration.tolerance ? "auto may use int8" : "auto keeps bf16/fp32") + ")")
        } catch let e as ExitCode {
            throw e
        } catch {
            Diagnostics.error("\(error)")
            throw ExitCode(ExitStatus.failed)
        }
    }

    static func round(_ v: Double) -> Double { (v * 10000).rounded() / 10000 }
}
