import ArgumentParser
import Foundation
import UpresKit
import UpresMedia

/// `upres compare DISTORTED... REFERENCE`: PSNR and SSIM per frame and for the whole clip.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure PSNR and SSIM of videos or images against a reference, per frame and over the clip.",
        discussion: """
            The last file is the reference; every other one is measured against it with \
            libavfilter's psnr and ssim filters, for the Y, U and V planes and over the frame \
            (planes weighted by size). Frames are paired by time from each stream's start, each \
            with the reference frame nearest in time; frames with none are not compared (and \
            counted). Nothing is scaled unless asked: a size that differs from the reference's \
            is an error, --scale-to-reference scales it with Lanczos (the classical baseline). A \
            pixel format that differs is converted to the reference's, with the stated matrix and \
            range. RGB references (PNG...) are measured as BT.601 limited-range Y'CbCr 4:4:4, the Y \
            of super-resolution papers. Whole-clip PSNR comes from the mean MSE over frames (the \
            average from the size-weighted MSE), SSIM is the mean of the per-frame values, as \
            FFmpeg's filters summarise them.

            Examples:
              upres compare clip.upres-x2.mkv clip-hr.mkv
              upres compare lanczos.mkv upres.mkv hr.mkv --plot psnr.png
              upres compare small.mp4 hr.mp4 --scale-to-reference --json

            Output: a table per input (frame, time, PSNR-Y/U/V/avg in dB, SSIM-Y/U/V/all) and \
            a summary line; PSNR is "inf" for identical frames. --json prints one object per line \
            instead: per frame {"type": "frame", input, reference, frame, pts_time, psnr_y, psnr_u, \
            psnr_v, psnr_avg, ssim_y, ssim_u, ssim_v, ssim_all}, then per input {"type": "summary", \
            input, reference, frames, unpaired, width, height, pixel_format, and the same figures}; \
            infinite PSNR is null, and grey sources have no U and V (null).
            """)

    @Argument(help: ArgumentHelp("Distorted files (one or more), then the reference (any video or image FFmpeg reads).",
                                 valueName: "file"))
    var files: [String]

    @Flag(help: "Scale distorted frames of another size to the reference's with Lanczos.")
    var scaleToReference = false

    @Flag(help: "One JSON object per line on stdout (per frame, and a summary per input).")
    var json = false

    @Option(help: ArgumentHelp("Also draw PSNR-Y over time as a PNG picture: one line per distorted input, axes, a legend.",
                               valueName: "file.png"))
    var plot: String?

    @Option(help: ArgumentHelp("Size of the --plot picture.", valueName: "WxH"))
    var plotSize: String = "960x540"

    @Option(help: ArgumentHelp("Decoder and filter threads (0 = one per core).", valueName: "n"))
    var threads: Int = 0

    @Flag(help: "Replace an existing --plot file.")
    var overwrite = false

    func validate() throws {
        if files.count < 2 { throw ValidationError("give at least one distorted file and the reference (the last file)") }
        if let plot, URL(fileURLWithPath: plot).pathExtension.lowercased() != "png" {
            throw ValidationError("--plot writes a PNG picture: give a name ending in .png, not '\(plot)'")
        }
        _ = try parsedPlotSize()
        if threads < 0 { throw ValidationError("--threads must be 0 (one per core) or more") }
    }

    func parsedPlotSize() throws -> (width: Int, height: Int) {
        let parts = plotSize.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, (240...8192).contains(parts[0]), (160...8192).contains(parts[1]) else {
            throw ValidationError("--plot-size takes WIDTHxHEIGHT between 240x160 and 8192x8192, not '\(plotSize)'")
        }
        return (parts[0], parts[1])
    }

    func run() throws {
        MediaLog.setLevel(.quiet)
        let reference = files.last!, distorted = Array(files.dropLast())
        if let plot {
            do { for f in files { try OutputGuard.check(input: f, output: plot, overwrite: overwrite) } } catch {
                Diagnostics.error("\(error)")
                throw ExitCode(ExitStatus.failed)
            }
        }
        var results: [ComparisonReport] = []
        var failed = false
        let settings = Comparison.Settings(scaleToReference: scaleToReference, threads: Int32(threads))
        for input in distorted {
            var headerShown = false
            do {
                let r = try Comparison.run(distorted: input, reference: reference, settings: settings) { q in
                    if json {
                        JSONLine.print(["type": "frame", "input": input, "reference": reference, "frame": q.frame,
                                        "pts_time": q.time].merging(Self.fields(q.psnr, q.psnrAverage, q.ssim, q.ssimAll)) { a, _ in a })
                    } else {
                        if !headerShown {
                            print("\(input) against \(reference)")
                            print(" frame     time   PSNR-Y   PSNR-U   PSNR-V PSNR-avg    SSIM-Y    SSIM-U    SSIM-V  SSIM-all")
                            headerShown = true
                        }
                        print(String(format: "%6d %8.3f", q.frame, q.time) + Self.row(q.psnr, q.psnrAverage, q.ssim, q.ssimAll))
                    }
                }
                for note in r.notes { Diagnostics.warning(note) }
                let s = r.summary
                if json {
                    JSONLine.print(["type": "summary", "input": input, "reference": reference, "frames": s.frames,
                                    "unpaired": r.unpaired, "width": Int(r.measured.width), "height": Int(r.measured.height),
                                    "pixel_format": PixelFormat.name(r.measured.pixelFormat)]
                        .merging(Self.fields(s.psnr, s.psnrAverage, s.ssim, s.ssimAll)) { a, _ in a })
                } else {
                    func db(_ v: Double) -> String { v.isFinite ? String(format: "%.3f", v) : "inf" }
                    let planes = ["y", "u", "v"]
                    let psnr = zip(planes, s.psnr).map { "\($0) \(db($1))" }.joined(separator: " ")
                    let ssim = zip(planes, s.ssim).map { "\($0) \(String(format: "%.6f", $1))" }.joined(separator: " ")
                    print("summary \(input): \(s.frames) frames, \(r.measured.width)x\(r.measured.height) "
                          + "\(PixelFormat.name(r.measured.pixelFormat)): PSNR \(psnr) average \(db(s.psnrAverage)) dB; "
                          + "SSIM \(ssim) all \(String(format: "%.6f", s.ssimAll))")
                }
                results.append(r)
            } catch {
                Diagnostics.error("\(error)")
                failed = true
            }
        }
        if let plot, !results.isEmpty {
            do {
                let (w, h) = try parsedPlotSize()
                let series = results.map { r in
                    QualityPlot.Series(name: r.distorted,
                                       points: r.frames.map { (x: $0.time, y: $0.psnr[0]) })
                }
                let picture = try QualityPlot.render(series, title: "PSNR-Y against \((reference as NSString).lastPathComponent)",
                                                     width: w, height: h, labeller: TextLabeller())
                try PNGWriter.write(picture, to: plot)
                if !json { Diagnostics.write("upres: wrote \(plot) (\(w)x\(h))") }
            } catch {
                Diagnostics.error("\(plot): \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.failed) }
    }

    static func fields(_ psnr: [Double], _ psnrAvg: Double, _ ssim: [Double], _ ssimAll: Double) -> [String: Any] {
        func num(_ v: Double?) -> Any { v.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        func at(_ a: [Double], _ i: Int) -> Double? { i < a.count ? a[i] : nil }
        return ["psnr_y": num(at(psnr, 0)), "psnr_u": num(at(psnr, 1)), "psnr_v": num(at(psnr, 2)), "psnr_avg": num(psnrAvg),
                "ssim_y": num(at(ssim, 0)), "ssim_u": num(at(ssim, 1)), "ssim_v": num(at(ssim, 2)), "ssim_all": num(ssimAll)]
    }

    static func row(_ psnr: [Double], _ psnrAvg: Double, _ ssim: [Double], _ ssimAll: Double) -> String {
        func db(_ v: Double?) -> String {
            guard let v else { return String(repeating: " ", count: 8) + "-" }
            return v.isFinite ? String(format: " %8.3f", v) : "      inf"
        }
        func s(_ v: Double?) -> String { v.map { String(format: " %9.6f", $0) } ?? String(repeating: " ", count: 9) + "-" }
        func at(_ a: [Double], _ i: Int) -> Double? { i < a.count ? a[i] : nil }
        return db(at(psnr, 0)) + db(at(psnr, 1)) + db(at(psnr, 2)) + db(psnrAvg)
            + s(at(ssim, 0)) + s(at(ssim, 1)) + s(at(ssim, 2)) + s(ssimAll)
    }
}

/// One JSON object per line on stdout, keys sorted.
enum JSONLine {
    static func print(_ fields: [String: Any]) {
        guard let body = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        try? FileHandle.standardOutput.write(contentsOf: body + Data("\n".utf8))
    }
}
