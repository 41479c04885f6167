import Foundation
import UpresMedia

/// Upscales the main video stream of one input into one output file, copying every
/// other stream, chapter and tag; the output appears only when everything succeeded.
///
///     let job = try UpscaleJob(JobSettings(input: "clip.mp4", size: .scale(2)))
///     let result = try job.run()
public final class UpscaleJob {
    /// The plan behind this job (`JobPlan`): what `init` checked and chose.
    public let plan: JobPlan
    /// What a run found on top of the plan's warnings (skipped streams, damage...).
    public internal(set) var warnings: [String]

    public var settings: JobSettings { plan.settings }
    public var input: InputFile { plan.input }
    public var outputPath: String { plan.outputPath }
    public var videoStream: Int { plan.videoStream }
    public var sourceFormat: VideoFormat { plan.sourceFormat }
    /// What the upscaler takes: the source's format, or the working format it is converted to.
    public var workingFormat: VideoFormat { plan.workingFormat }
    /// The upscaler's output (before any crop to the encoder's chroma grid).
    public var upscaledFormat: VideoFormat { plan.upscaledFormat }
    /// The decoder used instead of FFmpeg's default one (libvpx for VP8/VP9 with alpha).
    public var alphaDecoder: String? { plan.alphaDecoder }
    /// What the encoder receives.
    public var encodeFormat: VideoFormat { plan.encodeFormat }
    /// The output's container, encoder and pixel format.
    public var encoding: EncoderSetup { plan.encoding }
    /// The part of the source and its deinterlacing (DecodePlan.swift).
    public var decodePlan: DecodePlan { plan.decodePlan }

    /// Opens and checks the input and plans the output. Creates no file.
    public convenience init(_ settings: JobSettings) throws {
        self.init(plan: try JobPlan(settings))
    }

    /// A job that runs `plan` (made by `JobPlan.init`, in process, without running anything).
    public init(plan: JobPlan) {
        self.plan = plan
        warnings = plan.warnings
    }

    // MARK: - Running

    /// Runs the job. `onStart` is called once the output is open and its header written;
    /// `progress` after every frame with a statistics snapshot; `control` is polled between
    /// packets (a stop request abandons the run, leaving nothing behind).
    public func run(control: JobControl = JobControl(), onStart: (PipelineStats) -> Void = { _ in },
                    progress: @escaping (PipelineStats) -> Void = { _ in }) throws -> JobResult {
        if usesSegments {
            return try runSegmented(control: control, onStart: onStart, progress: progress)
        }
        return try runPass(segment: nil, control: control, onStart: onStart, progress: progress)
    }

    /// One pass over the input (`TranscodePass`): the whole file into the output, or (`segment`)
    /// the frames of one segment, video only, into a segment file. The output is staged and
    /// appears only once the pass succeeded (or, stopped, as a partial file).
    func runPass(segment: SegmentSpec?, control: JobControl, onStart: (PipelineStats) -> Void,
                 progress: @escaping (PipelineStats) -> Void) throws -> JobResult {
        let started = segment?.jobStarted ?? Date()
        let target = segment?.path ?? outputPath
        let staging = try OutputStaging(finalPath: target, overwrite: segment != nil || settings.overwrite)
        var committed = false
        defer { if !committed { staging.discard() } }
        let pass = try TranscodePass(self, segment: segment, writePath: staging.writePath, control: control,
                                     onStart: onStart, progress: progress)
        let outcome = try pass.run()
        let result = try finish(outcome, segment: segment, staging: staging, started: started)
        committed = true
        return result
    }

    /// Judges a finished pass (warnings for damage and truncation) and commits its output:
    /// whole, or (a stopped one-pass job) as a partial file.
    private func finish(_ o: PassOutcome, segment: SegmentSpec?, staging: OutputStaging,
                        started: Date) throws -> JobResult {
        let expected = expectedFrames
        func result(_ output: String) -> JobResult {
            var r = JobResult(output: output, framesDecoded: o.framesDecoded, framesEncoded: o.framesEncoded,
                              framesExpected: expected?.count, inputSize: (sourceFormat.width, sourceFormat.height),
                              outputSize: (encodeFormat.width, encodeFormat.height), encoder: o.encoderName,
                              pixelFormat: PixelFormat.name(encodeFormat.pixelFormat), copiedStreams: o.copiedStreams,
                              elapsed: Date().timeIntervalSince(started), warnings: warnings,
                              interrupted: o.interrupted, stats: o.stats)
            r.lastFramePts = o.lastFramePts.map(decodePlan.sourcePts)
            return r
        }
        if o.interrupted && segment == nil {
            guard o.framesEncoded > 0, let partial = try staging.commitPartial() else {
                staging.discard()
                throw JobInterrupted()
            }
            var r = result(partial)
            r.lastFramePts = nil
            return r
        }
        if o.framesDecoded == 0 {
            if o.interrupted { throw JobInterrupted() }   // stopped before a segment's first frame
            throw JobError(file: settings.input, message: "no video frame could be decoded (damaged or truncated file)")
        }
        // Frames are counted over the whole job: the segments before this one too.
        let totalDecoded = (segment?.framesBefore ?? 0) + o.framesDecoded
        if let code = o.readError {
            warnings.append("input ended with a read error (\(MediaError.text(for: code))): \(totalDecoded) frames recovered")
        } else if o.damaged > 0 || o.corruptPackets > 0 {
            warnings.append("damaged input: \(o.damaged) undecodable packets, \(o.corruptPackets) corrupt packets; "
                            + "\(totalDecoded) frames recovered")
        }
        // Truncation is judged on the whole job: in one pass, or in the last segment.
        let healthy = o.readError == nil && o.damaged == 0
        if segment?.end != nil || decodePlan.range != nil {
        } else if let expected, expected.exact, totalDecoded < expected.count, healthy {
            warnings.append("input looks truncated: \(totalDecoded) of \(expected.count) announced frames recovered")
        } else if let streamEnd = videoEndTime(), o.lastFrameEnd + 0.5 < streamEnd, healthy {
            warnings.append("input ends early: video stops at \(String(format: "%.2f", o.lastFrameEnd)) s of "
                            + "\(String(format: "%.2f", streamEnd)) s (truncated file?); \(totalDecoded) frames recovered")
        }
        warnings += o.streamWarnings
        if o.adjustedTimestamps > 0 {
            warnings.append("\(o.adjustedTimestamps) frames had missing or out-of-order timestamps and were re-timed")
        }
        do { try staging.commit() } catch { throw JobError(file: segment?.path ?? outputPath, message: "\(error)", cause: error) }
        return result(segment?.path ?? outputPath)
    }

    /// Where the container says the video ends (stream duration, else file duration), in seconds.
    private func videoEndTime() -> Double? { input.endSeconds(stream: videoStream) }

    func wrap(_ error: Error, _ file: String) -> Error {
        if error is JobError || error is JobInterrupted { return error }
        return JobError(file: file, message: "\(error)", cause: error)
    }

    func mediaCall(_ file: String, _ body: () throws -> Void) throws {
        do { try body() } catch { throw wrap(error, file) }
    }
}
