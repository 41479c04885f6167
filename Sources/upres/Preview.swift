import ArgumentParser
import Foundation
import UpresEngine
import UpresKit
import UpresMedia

/// `upres preview INPUT [--at TIME] -o SHEET.png`: one frame through every candidate, side by side.
struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upscale one frame with every candidate and lay them out side by side on a PNG sheet.",
        discussion: """
            The frame at --at (default: the middle; images: the picture) is decoded after a seek, \
            as a job decodes it, and run through each candidate's frame pipeline, the tile \
            pipeline that upscale uses: Lanczos; each branch of the built-in family for the scale \
            on every tile (--classes off --branch easy, medium, hard); the routed family \
            (--classes on), with its tile classes drawn over it (static blue, flat magenta, easy \
            green, medium yellow, hard red); and every --model given. Each runs the frame twice, \
            without reuse between frames, and the second run is timed: milliseconds for the frame \
            with --threads workers, and the network multiply-adds it ran per source pixel (tile \
            margins included).

            The sheet has one cell per candidate (up to three side by side, else a grid of \
            ceil(sqrt(n)) columns): the whole upscaled frame fitted to --panel-width, the busiest \
            region (highest mean luma gradient) at a 2x pixel zoom under it, and a label band with \
            the name, MACs per pixel, milliseconds and, with --reference, Y-PSNR against it. \
            A cell is P x (2 Q + 70) pixels for P x Q panels (P = min(--panel-width, output \
            width)), 12 pixels apart and from the edges, under a 32-pixel title.

            --json prints one object per line: per candidate {"type": "candidate", name, kind \
            (classical, branch, routed, model), milliseconds, macs_per_pixel, psnr_y and ssim_y (null \
            without --reference), classes (tile counts of the frame, network candidates), x, y, width, height (its cell)}, \
            then {"type": "sheet", output, input, time, scale, width, height, columns, rows, \
            panel_width, panel_height, crop (the zoomed region in output pixels: x, y, width, height)}.

            Examples:
              upres preview clip.mp4 -o sheet.png
              upres preview clip.mp4 --at 1:02.5 --scale 4 --model my.safetensors -o s.png
              upres preview clip-lr.mkv --reference clip-hr.mkv --json -o sheet.png
            """)

    @Argument(help: ArgumentHelp("The video or image (any file FFmpeg reads).", valueName: "input"))
    var input: String

    @Option(name: [.short, .long], help: ArgumentHelp("The sheet to write (.png).", valueName: "sheet.png"))
    var output: String

    @Option(help: ArgumentHelp("Time of the frame: seconds (12.5) or [hh:]mm:ss[.ms]. Default: the middle of the video.",
                               valueName: "time"))
    var at: String?

    @Option(help: ArgumentHelp("Scale factor: 2, 3 or 4; the built-in family upres-xN is shown.", valueName: "n"))
    var scale: Int = 2

    @Option(parsing: .singleValue, help: ArgumentHelp(
        "Another SR network to show: a built-in model name or a model file, as upscale's --model (repeatable).",
        valueName: "name|path"))
    var model: [String] = []

    @Option(help: ArgumentHelp("A high-resolution original of the input (the output's size): labels carry Y-PSNR against its frame at the same time.",
                               valueName: "file"))
    var reference: String?

    @Option(help: ArgumentHelp("Widest panel in pixels: larger outputs are shown fitted to it (the zoomed region stays at 2x).",
                               valueName: "px"))
    var panelWidth: Int = 640

    @Option(help: ArgumentHelp("Tile side in input pixels, as upscale's --tile.", valueName: "px"))
    var tile: Int = TileSettings.defaultTile

    @Option(help: ArgumentHelp("The routed family's --mac-cost, as upscale's.", valueName: "x"))
    var macCost: Double = 1

    @Option(help: ArgumentHelp("Network precision, as upscale's --precision: auto, fp32, bf16 or int8.", valueName: "mode"))
    var precision: PrecisionChoice = .auto

    @Option(help: ArgumentHelp("SR worker threads (0 = all cores).", valueName: "n"))
    var threads: Int = 0

    @Flag(help: "Also print each candidate's figures as JSON lines on stdout, then the sheet's layout.")
    var json = false

    @Flag(help: "Replace an existing sheet.")
    var overwrite = false

    func validate() throws {
        guard [2, 3, 4].contains(scale) else { throw ValidationError("--scale must be 2, 3 or 4, not \(scale)") }
        if URL(fileURLWithPath: output).pathExtension.lowercased() != "png" {
            throw ValidationError("the sheet is a PNG picture: give -o a name ending in .png, not '\(output)'")
        }
        if let at, Self.seconds(at) == nil { throw ValidationError("--at takes seconds (12.5) or [hh:]mm:ss[.ms], not '\(at)'") }
        if panelWidth < 160 || panelWidth > 4096 { throw ValidationError("--panel-width must be between 160 and 4096") }
        if tile < 16 || tile > 4096 { throw ValidationError("--tile must be between 16 and 4096 pixels") }
        if !(macCost > 0 && macCost <= 1000) { throw ValidationError("--mac-cost must be above 0 and at most 1000") }
        if threads < 0 { throw ValidationError("--threads must be 0 (all cores) or more") }
    }

    /// Seconds from "12.5", "1:02.5" or "0:01:02.5".
    static func seconds(_ text: String) -> Double? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard (1...3).contains(parts.count), parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        return parts.reduce(0) { $0 * 60 + $1! }
    }

    func run() throws {
        MediaLog.setLevel(.quiet)
        do { try makeSheet() } catch let e as ExitCode { throw e } catch {
            Diagnostics.error("\(error)")
            throw ExitCode(ExitStatus.failed)
        }
    }

    private func makeSheet() throws {
        for f in [input] + (reference.map { [$0] } ?? []) { try OutputGuard.check(input: f, output: output, overwrite: overwrite) }
        let source = try FrameSource(path: input, threads: Int32(threads))
        let time = at.flatMap(Self.seconds) ?? (source.input.isImage ? 0 : (source.durationSeconds ?? 0) / 2)
        guard let frame = try source.frame(at: time) else {
            throw JobError(file: input, message: "no video frame could be decoded")
        }
        let frameTime = source.seconds(frame)
        var format = source.format
        format.width = frame.width
        format.height = frame.height
        format.pixelFormat = frame.format
        format.colour = frame.colour.filling(from: source.format.colour)
        let size = TargetSize.scale(scale)
        let out = size.outputSize(width: format.width, height: format.height)

        var refFrame: Frame? = nil, refFormat: VideoFormat? = nil
        if let reference {
            let r = try FrameSource(path: reference, threads: Int32(threads))
            guard let f = try r.frame(at: frameTime) else { throw JobError(file: reference, message: "no video frame could be decoded") }
            guard f.width == out.width && f.height == out.height else {
                throw JobError(file: reference, message: "is \(f.width)x\(f.height), but \(input) upscaled x\(scale) is "
                               + "\(out.width)x\(out.height): give the original of that size (or another --scale)")
            }
            refFrame = f
            refFormat = r.format
        }

        let candidates = try makeCandidates()
        var results: [PreviewResult] = []
        for c in candidates {
            var r: PreviewResult
            do { r = try PreviewRunner.run(c, frame: frame, source: format, size: size) } catch {
                throw JobError(file: c.name, message: "\(error)", cause: error)
            }
            if let refFrame, let refFormat {
                r.quality = try Comparison.measure(r.frame, format: r.format, named: c.name, against: refFrame,
                                                   referenceFormat: refFormat, referenceName: reference!)
            }
            results.append(r)
        }

        let layout = PreviewSheet.layout(count: results.count, outputWidth: Int(out.width), outputHeight: Int(out.height),
                                         panelWidth: panelWidth)
        let region = layout.zoomRegion
        let busy = try PreviewRunner.busiestRegion(of: frame, format: format, width: max(1, region.width / scale),
                                                   height: max(1, region.height / scale))
        let crop = (x: busy.x * scale, y: busy.y * scale, width: min(region.width, Int(out.width)),
                    height: min(region.height, Int(out.height)))
        let cores = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
        let title = "\((input as NSString).lastPathComponent) at \(String(format: "%.3f", frameTime)) s: "
            + "\(format.width)x\(format.height) -> \(out.width)x\(out.height) (x\(scale)), \(cores) threads; "
            + "below each frame its busiest region at 2x"
        let sheet = try PreviewSheet.render(results, title: title, layout: layout, crop: crop, labeller: TextLabeller())
        try PNGWriter.write(sheet, to: output)

        for (i, r) in results.enumerated() {
            let cell = layout.cell(i)
            var fields: [String: Any] = [
                "type": "candidate", "name": r.candidate.name, "kind": r.candidate.kind.rawValue,
                "milliseconds": r.milliseconds, "macs_per_pixel": r.macsPerPixel,
                "x": cell.x, "y": cell.y, "width": layout.panelWidth, "height": layout.cellHeight,
                "psnr_y": r.quality.flatMap { $0.psnr[0].isFinite ? $0.psnr[0] : nil } ?? NSNull(),
                "ssim_y": r.quality.map { $0.ssim[0] } ?? NSNull(),
            ]
            if !r.classMap.isEmpty {
                fields["classes"] = Dictionary(uniqueKeysWithValues: TileClass.allCases.map { ($0.name, r.classes[$0]) })
            }
            if json { JSONLine.print(fields) } else {
                let psnr = r.quality.map { String(format: ", Y-PSNR %.3f dB", $0.psnr[0]) } ?? ""
                Diagnostics.write("upres: \(r.candidate.name): \(String(format: "%.1f", r.milliseconds)) ms, "
                                  + "\(String(format: "%.0f", r.macsPerPixel)) MACs/px\(psnr)")
            }
        }
        if json {
            JSONLine.print(["type": "sheet", "output": output, "input": input, "time": frameTime, "scale": scale,
                            "width": layout.width, "height": layout.height, "columns": layout.columns, "rows": layout.rows,
                            "panel_width": layout.panelWidth, "panel_height": layout.panelHeight,
                            "crop": ["x": crop.x, "y": crop.y, "width": crop.width, "height": crop.height]])
        } else {
            Diagnostics.write("upres: wrote \(output) (\(layout.width)x\(layout.height), \(results.count) candidates)")
        }
    }

    /// Lanczos, the default family's branches on every tile, the routed family, then --model.
    private func makeCandidates() throws -> [PreviewCandidate] {
        let cores = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
        func settings(_ family: ModelFamily, classes: Bool, branch: TileClass) throws -> TileSettings {
            // No reuse: the measured run repeats the warm-up's frame, which reuse would skip.
            var s = TileSettings(tile: tile, workers: cores, precision: try precision.resolve(for: family.networks), classes: classes,
                                 branch: branch, reuseThreshold: nil)
            s.macCost = macCost
            return s
        }
        func family(_ name: String) throws -> ModelFamily {
            let loaded = try ModelSource.load(name)
            guard loaded.info.arch != "classifier" else {
                throw ModelFileError("\(name): a tile classifier (it routes tiles of a model family), not an upscaling network")
            }
            return try ModelFamily(hard: loaded) { try ModelSource.branch($0, besideOf: name) }
        }
        var list = [PreviewCandidate(name: "lanczos", kind: .classical,
                                     factory: ClassicalUpscalerFactory(filter: .lanczos, threads: Int32(threads)))]
        let builtIn = "upres-x\(scale)"
        if EmbeddedModels.names.contains(builtIn) {
            let f = try family(builtIn)
            for c in [TileClass.easy, .medium, .hard] {
                guard let m = f.branches[c] else { continue }
                list.append(PreviewCandidate(name: "\(m.info.name) on every tile", kind: .branch,
                                             factory: NetworkUpscalerFactory(family: f, settings: try settings(f, classes: false, branch: c))))
            }
            if f.classifier != nil || f.thresholds != nil {
                list.append(PreviewCandidate(name: "\(f.name) routed", kind: .routed,
                                             factory: NetworkUpscalerFactory(family: f, settings: try settings(f, classes: true, branch: .hard))))
            }
        }
        for m in model {
            let f = try family(m)   // its errors name the model
            list.append(PreviewCandidate(name: FileManager.default.fileExists(atPath: m) ? (m as NSString).lastPathComponent : m,
                                         kind: .model,
                                         factory: NetworkUpscalerFactory(family: f, settings: try settings(f, classes: true, branch: .hard))))
        }
        return list
    }
}
