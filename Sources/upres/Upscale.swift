import ArgumentParser
import Foundation
import UpresKit
import UpresMedia
import UpresEngine

struct Upscale: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upscale video files, images or image sequences (the default command).",
        discussion: """
            Examples:
              upres clip.mp4                      writes clip.upres-x2.mp4 beside the input
              upres clip.mkv --scale 4 -o big.mkv
              upres clip.mp4 --width 1920 --codec libx265 --crf 20
              upres photo.png -o photo.x2.png
              upres 'frames/%05d.png' -o 'big/%05d.png'
              upres clip.mp4 --codec ffv1 -o lossless.mkv
              upres *.mkv --progress json > events.jsonl
              ffmpeg -i in.mkv -f nut - | upres - -o - -f nut | ffmpeg -i - out.mp4

            PIPES
              - as the input reads standard input (any stream FFmpeg reads from a pipe:
              nut, matroska, mpegts, yuv4mpegpipe...; the format is probed); -o - writes
              standard output in the container -f names (nut, matroska, mpegts,
              yuv4mpegpipe; mp4 is fragmented). A pipe is read or written once, in order:
              such a job runs in one pass, without segments, work folder or resume, and
              the checks for existing outputs do not apply. Messages and progress go to
              stderr; --progress json needs --progress-file PATH when stdout carries the
              video. .y4m outputs hold raw frames (YUV4MPEG, planar YUV or grey).

            PROGRESS
              On a terminal upres shows a live dashboard (--progress tui): progress, ETA,
              frame rates, the tile classes of the current frame and of all frames,
              queues, worker load, where time goes, output size. Keys: q stops gracefully
              (the frames done are written as a playable file; exit status 130), p pauses
              and resumes, v shows the last output frame as a picture beside it (24-bit or
              256 colours) and m the tile classes over it, ? shows help. Ctrl-C does what q does; a second one stops at
              once. NO_COLOR=1 turns colour off. Into a pipe or a log upres prints a line
              every 5 seconds instead (--progress plain).

            JSON EVENTS
              With --progress json, stdout carries one JSON object per line (messages for
              people still go to stderr); --progress-file PATH writes them to a file
              instead. Every object has "event" and "time" (Unix seconds). Sizes are in
              bytes, times in seconds; unknown values are null. Events, in order:
              start      job and jobs (position in the batch), input, output, streams
                         (index, type, codec, upscaled), frames_expected,
                         frames_expected_exact, input_width, input_height, output_width,
                         output_height, model, precision, encoder
              progress   every field of the progress snapshot, at most once per
                         --progress-interval seconds (default 1) and once at the end of
                         each file: frames_done, frames_total, frames_total_estimated,
                         elapsed, eta, fps (recent), average_fps,
                         input_megapixels_per_second, output_megapixels_per_second,
                         tiles_per_second, tile_size, tile_columns, tile_rows,
                         classes_total and classes_last_frame (tile counts by class:
                         static, flat, easy, medium, hard), last_frame_map (class names,
                         row by row), multiply_adds, multiply_adds_all_hard, queue_depths,
                         queue_capacities, worker_busy (0 to 1 per worker), stage_seconds
                         (decode, classify, sr, stitch, encode), bytes_written, bitrate
                         (bits per second), estimated_final_bytes, paused, stopping,
                         input, output, model, precision, threads, job_index, job_count
              file_done  job, input, output (null when abandoned), status (done;
                         interrupted: stopped gracefully, the output holds the frames
                         done; abandoned: stopped at once, nothing written), exit_status,
                         frames (written), duration (of the output), size, wall_time,
                         classes (tile totals by class), warnings
              error      job, input, file (the file the error is about), message
              summary    files, done, failed, interrupted, skipped (done + failed +
                         interrupted + skipped = files), frames, bytes, wall_time,
                         classes, exit_status (the exit status of upres)
            """)

    @Argument(help: ArgumentHelp("Input files (any video or image FFmpeg reads; image sequences as patterns like frames/%05d.png; - reads stdin).",
                                 valueName: "input"))
    var inputs: [String]

    @Option(name: [.short, .long], help: ArgumentHelp(
        "Output file (container from the extension: mp4, mkv, mov, webm, y4m, png, jpg, or a pattern like %05d.png; - writes stdout, with -f). Default: NAME.upres-x2.EXT beside the input; for a part of the input, with its range: NAME.upres-x2.1s-3s.EXT.",
        valueName: "path"))
    var output: String?

    @Option(name: [.short, .long], help: ArgumentHelp(
        "Output container by name instead of by extension (nut, matroska, mpegts, yuv4mpegpipe, mp4..., or an extension: mkv, ts, y4m); required with -o -. A pipe runs in one pass, without resume.",
        valueName: "name"))
    var format: String?

    @OptionGroup(title: "Size") var size: SizeOptions
    @OptionGroup(title: "Source") var source: SourceOptions
    @OptionGroup(title: "Encoding") var encoding: EncodingOptions
    @OptionGroup(title: "Tiles") var tiling: TilingOptions
    @OptionGroup(title: "Resume") var resume: ResumeOptions
    @OptionGroup(title: "Batch") var batch: BatchOptions
    @OptionGroup(title: "ncnn models") var ncnn: NCNNOptions

    @Option(help: ArgumentHelp("Use a classical upscaler instead of a network: lanczos or bicubic.", valueName: "name"))
    var upscaler: String?

    @Option(help: ArgumentHelp(
        "SR network: a built-in model name (see `upres models`) or a model file (.safetensors, docs/model-format.md; or an ncnn NAME.param with NAME.bin beside it, docs/ncnn-models.md). Default: the built-in upres-xN model for the scale, when there is one, else lanczos.",
        valueName: "name|path"))
    var model: String?

    @Option(help: ArgumentHelp("Network precision: auto (int8 where the CPU has VNNI and the models' int8 check passed, else bf16 where the CPU has bf16 kernels and the model's bf16 check passed), fp32, bf16 or int8.",
                               valueName: "mode"))
    var precision: PrecisionChoice = .auto

    @Option(help: ArgumentHelp("Cores the job may use (0 = all): N SR workers, each with its own engine session, and at most N of its stages (SR windows, classical passes, decoding, encoding) computing at once; also decoder and encoder threads.", valueName: "n"))
    var threads: Int = 0

    @Flag(help: "Replace existing output files.")
    var overwrite = false

    @OptionGroup(title: "Progress") var progressOptions: ProgressOptions

    @Flag(help: "Also print FFmpeg's own warnings.")
    var verbose = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file") }
        let folderInput = inputs.contains { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && d.boolValue }
        if output != nil && !outputIsFolder && (inputs.count > 1 || folderInput) {
            throw ValidationError("--output names one file: with several inputs give a folder (-o outdir/) or leave it out (outputs go beside each input)")
        }
        if let upscaler, !["lanczos", "bicubic"].contains(upscaler) {
            throw ValidationError("--upscaler must be lanczos or bicubic, not '\(upscaler)'")
        }
        if upscaler != nil && model != nil { throw ValidationError("use either --model or --upscaler, not both") }
        if threads < 0 { throw ValidationError("--threads must be 0 (all cores) or more") }
        try validatePipes()
        _ = try size.target()
        _ = try encoding.settings(threads: 0)
    }

    /// `-` for stdin / stdout: one input, a named container, stdout free of anything but the video.
    func validatePipes() throws {
        let stdin = inputs.contains(StandardStream.name), stdout = output.map(StandardStream.isPipe) ?? false
        if stdin && inputs.count > 1 { throw ValidationError("- (stdin) is the only input when given") }
        if stdin && output == nil { throw ValidationError("reading stdin (-) needs -o FILE (or -o - -f NAME for stdout)") }
        if stdout && format == nil {
            throw ValidationError("-o - writes to stdout: name the container with -f/--format ("
                                  + OutputContainer.pipeFormats.joined(separator: ", ") + ")")
        }
        if let format, !OutputContainer.exists(format) {
            throw ValidationError("-f/--format: unknown container '\(format)' (e.g. " + OutputContainer.pipeFormats.joined(separator: ", ") + ")")
        }
        if stdout && progressOptions.mode == .json && (progressOptions.progressFile ?? "-") == "-" {
            throw ValidationError("--progress json writes to stdout, which carries the video with -o -: add --progress-file PATH")
        }
        if (stdin || stdout) && (resume.segments != nil || batch.dryRun) {
            throw ValidationError("\(resume.segments != nil ? "--segments" : "--dry-run") does not apply to pipes (-): they are read or written once")
        }
    }

    /// `-o DIR/` (or an existing folder): outputs go into it.
    var outputIsFolder: Bool {
        guard let output else { return false }
        var d: ObjCBool = false
        return output.hasSuffix("/") || (FileManager.default.fileExists(atPath: output, isDirectory: &d) && d.boolValue)
    }

    func run() throws { try run(joining: false) }

    /// `joining`: `upres join`, which assembles the segments of `--segments N` runs.
    func run(joining: Bool) throws {
        MediaLog.setLevel(verbose ? .warning : .quiet)   // upres reports problems itself
        Interrupts.install()
        // A reader that goes away gets an error (Broken pipe, exit 1), not a silent SIGPIPE death.
        if output.map(StandardStream.isPipe) ?? false { signal(SIGPIPE, SIG_IGN) }
        let target = try size.target()
        let encoderSettings = try encoding.settings(threads: Int32(threads))
        // --threads N is the job's budget of cores, shared by every stage (CoreBudget).
        CoreBudget.shared.configure(permits: threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
        let factory: any UpscalerFactory
        var chosen = model
        if chosen == nil && upscaler == nil {
            let scale: Int
            if case .scale(let s) = target { scale = s } else { scale = 2 }
            if EmbeddedModels.names.contains("upres-x\(scale)") { chosen = "upres-x\(scale)" }
        }
        if let chosen {
            let loaded: Model
            do { loaded = try ModelSource.load(chosen, ncnn: ncnn.overrides) } catch {
                Diagnostics.error("\(error)")
                throw ExitCode(ExitStatus.failed)
            }
            guard loaded.info.arch != "classifier" else {
                Diagnostics.error("\(chosen): a tile classifier (it routes tiles of a model family), not an upscaling network")
                throw ExitCode(ExitStatus.failed)
            }
            let cores = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
            let family: ModelFamily
            do { family = try ModelFamily(hard: loaded) { try ModelSource.branch($0, besideOf: chosen) } } catch {
                Diagnostics.error("\(error)")
                throw ExitCode(ExitStatus.failed)
            }
            let p = try precision.resolve(for: family.networks)
            factory = NetworkUpscalerFactory(family: family, settings: tiling.settings(workers: cores, precision: p))
        } else {
            factory = ClassicalUpscalerFactory(filter: ScaleFilter(rawValue: upscaler ?? "lanczos")!, threads: Int32(threads))
        }
        let files = BatchInputs.expand(inputs, recursive: batch.recursive)
        if files.isEmpty {
            Diagnostics.error("no video or image files in \(inputs.joined(separator: ", "))")
            throw ExitCode(ExitStatus.failed)
        }
        let folder = outputIsFolder
        if folder, let output, !batch.dryRun {
            do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) } catch {
                Diagnostics.error("\(output): cannot create the output folder: \(error.localizedDescription)")
                throw ExitCode(ExitStatus.failed)
            }
        }
        func outputPath(_ input: String) -> String? {
            BatchInputs.outputPath(for: input, output: output, folderOutput: folder, template: batch.name, size: target,
                                   range: try? source.range())
        }
        if batch.dryRun {
            // Jobs check that their output folder exists: a missing one is made for the plan and
            // removed again, so a dry run leaves nothing behind.
            var made = false
            if folder, let output, !FileManager.default.fileExists(atPath: output) {
                made = (try? FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)) != nil
            }
            defer { if made, let output { rmdir(output) } }
            try DryRun.print(files, output: outputPath, factory: factory, size: target, encoder: encoderSettings,
                             overwrite: overwrite, threads: Int32(threads), source: source, segments: resume.segments,
                             format: format)
            return
        }
        if resume.segments != nil && resume.segment == nil && !joining {
            Diagnostics.error("--segments N needs --segment K (the segment this process does), upres join, or --dry-run")
            throw ExitCode(ExitStatus.usage)
        }
        if let n = resume.segments, joining || resume.segment != nil {
            guard files.count == 1, let input = files.first else {
                Diagnostics.error("--segments works on one input at a time")
                throw ExitCode(ExitStatus.usage)
            }
            var settings = JobSettings(input: input, output: outputPath(input), size: target, upscaler: factory,
                                       encoder: encoderSettings, overwrite: overwrite, decoderThreads: Int32(threads))
            resume.apply(to: &settings)
            source.apply(to: &settings)
            settings.format = format
            var stopped: String? = nil
            do {
                let job = try UpscaleJob(settings)
                if joining {
                    let r = try job.joinSegments(n)
                    Diagnostics.write("upres: joined \(n) segments into \(job.outputPath): \(r.framesEncoded) frames, \(r.copiedStreams) streams copied")
                } else {
                    let k = resume.segment!
                    let target = job.segmentPath(k, of: n)
                    if !overwrite && FileManager.default.fileExists(atPath: target) {
                        // A requeued or repeated task whose segment is complete: nothing to do.
                        Diagnostics.write("upres: segment \(k) of \(n): done already (\(target) exists; --overwrite to redo it)")
                        return
                    }
                    let r = try job.runSegment(k, of: n, control: Interrupts.control, resuming: { done, of in
                        Diagnostics.write("upres: segment \(k) of \(n): resuming: \(done) of \(of) frames done by an earlier run")
                    })
                    for w in r.warnings { Diagnostics.warning("\(input): \(w)") }
                    if r.interrupted {
                        stopped = "\(input): segment \(k) of \(n) interrupted: \(r.framesEncoded) of \(r.framesExpected ?? 0) "
                            + "frames done (kept in \(r.output)); rerun the same command to resume"
                    } else {
                        let resumed = r.framesResumed > 0 ? " (\(r.framesResumed) resumed from an earlier run)" : ""
                        Diagnostics.write("upres: segment \(k) of \(n): \(r.framesEncoded) frames -> \(target)\(resumed)")
                    }
                }
            } catch is JobInterrupted {
                stopped = "\(input): interrupted; " + (resume.noResume ? "the segment was not written"
                                                      : "rerun the same command to resume from the last finished part")
            } catch {
                Diagnostics.error("\(error)")
                throw ExitCode(ExitStatus.failed)
            }
            if let stopped {
                Diagnostics.error(stopped)
                throw ExitCode(ExitStatus.interrupted)
            }
            return
        }
        if joining {
            Diagnostics.error("upres join needs --segments N (the count the segments were made with)")
            throw ExitCode(ExitStatus.usage)
        }
        let frontEnd = try progressOptions.makeFrontEnd()
        var summary = BatchSummary(files: files.count)
        for (index, input) in files.enumerated() {
            if Interrupts.requested { break }
            let planned = outputPath(input) ?? OutputNaming.defaultOutput(for: input, size: target, range: try? source.range())
            if !overwrite && FileManager.default.fileExists(atPath: planned) && !OutputNaming.isSequencePattern(planned)
                && !StandardStream.isPipe(planned) {
                // Done by an earlier run: skipped (counted as such in the summary), not an error.
                Diagnostics.write("upres: skipped: \(input): \(planned) exists (--overwrite to redo it)")
                summary.skippedExisting += 1
                continue
            }
            frontEnd.jobStarting(input: input, index: index + 1, count: files.count)
            do {
                var settings = JobSettings(input: input, output: outputPath(input), size: target,
                                           upscaler: factory,
                                           encoder: encoderSettings, overwrite: overwrite,
                                           decoderThreads: Int32(threads))
                settings.format = format
                resume.apply(to: &settings)
                source.apply(to: &settings)
                settings.preview = frontEnd.preview
                let job = try UpscaleJob(settings)
                let result = try job.run(control: Interrupts.control, onStart: { frontEnd.jobStarted(job, $0) },
                                         progress: { TestHooks.progress($0); frontEnd.progress($0) })
                frontEnd.jobFinished(result)
                summary.add(result)
                if result.interrupted { break }
            } catch is JobInterrupted {
                frontEnd.jobAbandoned(input: input)
                summary.interrupted += 1
                break
            } catch {
                frontEnd.jobFailed(input: input, error: error)
                summary.failed += 1
            }
        }
        frontEnd.batchFinished(summary)
        if summary.exitStatus != ExitStatus.success { throw ExitCode(summary.exitStatus) }
    }
}
