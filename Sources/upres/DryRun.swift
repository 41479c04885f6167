import ArgumentParser
import Foundation
import UpresEngine
import UpresKit
import UpresMedia

/// `--dry-run`: what a batch would do, without writing anything: each input's output, sizes,
/// frame count and an estimated time from a quick engine benchmark at the input's size; with
/// `segments`, the split of each input into that many segments (`--segments N`) and each one's time.
enum DryRun {
    static func print(_ files: [String], output: (String) -> String?, factory: any UpscalerFactory, size: TargetSize,
                      encoder: EncoderSettings, overwrite: Bool, threads: Int32, source: SourceOptions,
                      segments: Int? = nil, format: String? = nil) throws {
        var secondsPerFrame: [String: Double] = [:]
        var total = 0.0
        var failed = 0
        for input in files {
            let planned = output(input) ?? OutputNaming.defaultOutput(for: input, size: size, range: try? source.range())
            if !overwrite && FileManager.default.fileExists(atPath: planned) {
                Swift.print("skip  \(input) -> \(planned) (exists)")
                continue
            }
            do {
                var settings = JobSettings(input: input, output: output(input), size: size, upscaler: factory,
                                           encoder: encoder, overwrite: overwrite, decoderThreads: threads)
                source.apply(to: &settings)
                settings.format = format
                let job = try UpscaleJob(settings)
                let s = job.sourceFormat, e = job.encodeFormat
                let frames = try job.countFrames()
                var line = "do    \(input) -> \(job.outputPath): \(s.width)x\(s.height) -> \(e.width)x\(e.height), \(factory.name)"
                if let d = job.decodePlan.deinterlace { line += ", deinterlaced (\(d.rate.rawValue) rate: \(d.reason))" }
                if let r = settings.range { line += ", \(r.label)" }
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
                if let n = segments {
                    let key = "\(s.width)x\(s.height)"
                    printSegments(try job.segmentPlan(n), count: n, secondsPerFrame: secondsPerFrame[key],
                                  workers: (factory as? NetworkUpscalerFactory)?.settings.workers)
                }
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

    /// The split into `count` segments: times, frames and (network upscalers) the estimated time of each.
    static func printSegments(_ plan: [SegmentPlanEntry], count: Int, secondsPerFrame: Double?, workers: Int?) {
        Swift.print("      \(count) segments, keyframe-aligned (the same split on every machine):")
        Swift.print("      segment     start s       end s        frames   count  estimate")
        for e in plan {
            let k = String(e.number).leftPadded(7)
            guard e.frames > 0, let start = e.start, let end = e.end else {
                Swift.print("      \(k)  empty: too few keyframes for \(count) segments (its run writes nothing)")
                continue
            }
            let range = "\(e.firstFrame)-\(e.firstFrame + e.frames - 1)"
            let estimate = secondsPerFrame.map { clock($0 * Double(e.frames)) } ?? "-"
            Swift.print("      \(k)  \(String(format: "%10.3f  %10.3f", start, end))  \(range.leftPadded(12))  "
                        + "\(String(e.frames).leftPadded(6))  \(estimate.leftPadded(8))")
        }
        if let secondsPerFrame, let workers {
            let longest = plan.map(\.frames).max() ?? 0
            Swift.print("      per segment with \(workers) thread\(workers == 1 ? "" : "s") (--threads): the longest, about "
                        + "\(clock(secondsPerFrame * Double(longest))), sets the time of the whole array")
        }
    }

    /// Seconds per frame: the hard branch on one tile, times the tiles of a frame, over the workers.
    static func estimate(_ net: NetworkUpscalerFactory, width: Int, height: Int) throws -> Double {
        let side = WindowSize.tile(for: net.family, settings: net.settings, width: width, height: height)
        let grid = TileGrid(width: width, height: height, tile: side, margin: net.family.margin, edges: net.family.edges)
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



extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
