import ArgumentParser
import Foundation
import UpresEngine
import UpresKit
import UpresMedia

/// `--dry-run`: what a batch would do, without writing anything: each input's output, sizes,
/// frame count and an estimated time from a quick engine benchmark at the input's size.
enum DryRun {
    static func print(_ files: [String], output: (String) -> String?, factory: any UpscalerFactory, size: TargetSize,
                      encoder: EncoderSettings, overwrite: Bool, threads: Int32, format: String? = nil) throws {
        var secondsPerFrame: [String: Double] = [:]
        var total = 0.0
        var failed = 0
        for input in files {
            let planned = output(input) ?? OutputNaming.defaultOutput(for: input, size: size)
            if !overwrite && FileManager.default.fileExists(atPath: planned) {
                Swift.print("skip  \(input) -> \(planned) (exists)")
                continue
            }
            do {
                var settings = JobSettings(input: input, output: output(input), size: size, upscaler: factory,
                                           encoder: encoder, overwrite: overwrite, decoderThreads: threads)
                settings.format = format
                let job = try UpscaleJob(settings)
                let s = job.sourceFormat, e = job.encodeFormat
                let frames = job.input.expectedFrames(stream: job.videoStream)
                var line = "do    \(input) -> \(job.outputPath): \(s.width)x\(s.height) -> \(e.width)x\(e.height), \(factory.name)"
                if let frames { line += ", \(frames.exact ? "" : "~")\(frames.count) frames" }
                if let net = factory as? NetworkUpscalerFactory, let frames {
                    let key = "\(s.width)x\(s.height)"
                    if secondsPerFrame[key] == nil {
                        secondsPerFrame[key] = try estimate(net, width: Int(s.width), height: Int(s.height))
                    }
                    let t = secondsPerFrame[key]! * Double(frames.count)
                    total += t
                    line += ", about \(clock(t))"
                }
                Swift.print(line)
            } catch {
                Swift.print("fail  \(input): \(error)")
                failed += 1
            }
        }
        if total > 0 {
            Swift.print("estimated total: about \(clock(total)) (engine benchmark of the hard branch at each input size, "
                        + "with the tiles' context margins; decoding and encoding not included)")
        }
        if failed > 0 { throw ExitCode(ExitStatus.failed) }
    }

    /// Seconds per frame: the hard branch on one tile, times the tiles of a frame, over the workers.
    static func estimate(_ net: NetworkUpscalerFactory, width: Int, height: Int) throws -> Double {
        let grid = TileGrid(width: width, height: height, tile: net.settings.tile, margin: net.family.margin)
        let r = try Benchmark.run(model: net.family.hard, width: grid.inputWidth, height: grid.inputHeight,
                                  precision: net.settings.precision, workers: net.settings.workers, seconds: 0.3,
                                  weights: "built-in")
        return r.ms_per_frame / 1000 * Double(grid.tiles.count)
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded(.up))
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}


