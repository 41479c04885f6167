import Foundation
import UpresMedia

/// One pass over the input: demuxes, decodes and submits on the calling thread, while the
/// pipeline's workers upscale and the encode stage's thread encodes and muxes, all at once.
/// The whole file goes through the muxer with every copied stream; a segment's video packets
/// go into a segment file. What the pass found comes back as a `PassOutcome`; the job judges it
/// and commits the output (`UpscaleJob.finish`).
///
///     let pass = try TranscodePass(job, segment: nil, writePath: staging.writePath, control: control,
///                                  onStart: onStart, progress: progress)
///     let outcome = try pass.run()
final class TranscodePass {
    private let job: UpscaleJob
    private let plan: JobPlan
    private let segment: SegmentSpec?
    private let control: JobControl
    private let out: OutputFile?
    private let segmentFile: SegmentFileWriter?
    private let streams: OutputStreams?
    private let copiedStreams: Int
    private let decoder: VideoDecoder
    private let encoder: VideoEncoder
    private let frameRate: Rational
    private let pipeline: any FramePipeline
    private let stage: EncodeStage
    private let toWorking: WorkingConverter?
    private let deinterlacer: FrameDeinterlacer?
    /// The frames with start <= pts < end of the segment and the range (the seek lands on a
    /// keyframe before start; open-GOP leading frames fall before it too).
    private let window: FrameWindow
    private let copyWindow: CopyWindow
    private let packet = Packet(), frame = Frame()

    private var timeline = FrameTimeline()
    private var framesDecoded = 0, damaged = 0, corruptPackets = 0
    private var readError: Int32? = nil
    private var interrupted = false
    /// The last frame the pass keeps has been submitted: later video packets are skipped.
    private var reachedEnd = false
    /// At a range's end, the copied streams' last packets can lie after the video's in the file.
    private var copyTail: Bool

    /// Opens the decoder, the encoder and the output (`writePath`: the staged file), then calls
    /// `onStart` with the first statistics and builds the pipeline (which loads the networks).
    init(_ job: UpscaleJob, segment: SegmentSpec?, writePath: String, control: JobControl,
         onStart: (PipelineStats) -> Void, progress: @escaping (PipelineStats) -> Void) throws {
        let plan = job.plan, settings = job.settings
        let target = segment?.path ?? plan.outputPath
        (self.job, self.plan, self.segment, self.control) = (job, plan, segment, control)
        do { out = segment == nil ? try OutputFile(path: writePath, encoding: plan.encoding) : nil }
        catch { throw job.wrap(error, plan.outputPath) }
        do {
            decoder = try VideoDecoder(input: plan.input, streamIndex: plan.videoStream,
                                       threads: settings.decoderThreads, decoderName: plan.alphaDecoder)
        } catch { throw job.wrap(error, settings.input) }
        frameRate = plan.input.guessedFrameRate(stream: plan.videoStream)
        do {
            encoder = try VideoEncoder(encoding: plan.encoding, format: plan.encodeFormat,
                                       timeBase: plan.decodePlan.timeBase, frameRate: plan.decodePlan.rate(frameRate),
                                       settings: settings.encoder, context: "'\(plan.outputPath)'")
        } catch { throw job.wrap(error, plan.outputPath) }
        do { segmentFile = segment == nil ? nil : try SegmentFileWriter(path: writePath, encoder: encoder) }
        catch { throw job.wrap(error, target) }
        var videoOut = 0
        if let out {
            let s = try job.configureOutput(out, target: target, segment: false, video: .encoder(encoder))
            (streams, copiedStreams, videoOut) = (s, s.copied, s.map[plan.videoStream])
        } else {
            (streams, copiedStreams) = (nil, 0)
        }

        let stats = Self.firstStats(job, segment: segment)
        onStart(stats)
        do { pipeline = try settings.upscaler.makePipeline(input: plan.workingFormat, output: plan.upscaledFormat) }
        catch { throw job.wrap(error, settings.input) }
        toWorking = plan.workingFormat == plan.sourceFormat
            ? nil : WorkingConverter(source: plan.sourceFormat, working: plan.workingFormat)
        let sink: PacketSink = out.map(OutputContainer.sink) ?? segmentFile!
        let progressBox = UncheckedBox(progress)
        stage = EncodeStage(encoder: encoder, out: sink, videoOut: videoOut,
                            videoOutTimeBase: out.map { $0.timeBase(stream: videoOut) } ?? encoder.timeBase,
                            decoderTimeBase: plan.decodePlan.timeBase,
                            upscaledFormat: plan.upscaledFormat, encodeFormat: plan.encodeFormat,
                            sourceColour: plan.workingFormat.colour, stats: stats,
                            started: segment?.jobStarted ?? Date(),
                            framesBefore: segment?.framesBefore ?? 0, framesAtStart: segment?.framesAtStart ?? 0,
                            preview: settings.preview, progress: { progressBox.value($0) })
        window = plan.decodePlan.window(segmentStart: segment?.start, segmentEnd: segment?.end)
        copyWindow = plan.decodePlan.copyWindow
        deinterlacer = plan.decodePlan.makeDeinterlacer(pixelFormat: plan.sourceFormat.pixelFormat)
        copyTail = out != nil && plan.decodePlan.range?.endPts != nil
    }

    /// What the dashboard shows before the first frame.
    private static func firstStats(_ job: UpscaleJob, segment: SegmentSpec?) -> PipelineStats {
        let plan = job.plan
        var stats = PipelineStats()
        stats.input = plan.settings.input
        stats.output = plan.outputPath
        stats.inputWidth = Int(plan.sourceFormat.width)
        stats.inputHeight = Int(plan.sourceFormat.height)
        stats.outputWidth = Int(plan.encodeFormat.width)
        stats.outputHeight = Int(plan.encodeFormat.height)
        stats.model = plan.settings.upscaler.name
        stats.precision = plan.settings.upscaler.precision
        if let segment {
            stats.framesTotal = segment.framesTotal
            stats.framesTotalEstimated = false
        } else {
            let expected = job.expectedFrames
            stats.framesTotal = expected?.count
            stats.framesTotalEstimated = !(expected?.exact ?? true)
        }
        return stats
    }

    /// Runs the pass to the end of its part of the input (or a graceful stop) and flushes every
    /// stage. Throws `JobInterrupted` on an immediate stop; nothing is committed here.
    func run() throws -> PassOutcome {
        let encoding = DispatchGroup()
        encoding.enter()
        let encodeThread = Thread { [stage, control, pipeline = UncheckedBox(pipeline)] in
            stage.run(pipeline.value, stop: control)
            encoding.leave()
        }
        encodeThread.name = "upres-encode"
        encodeThread.start()
        var joined = false
        func join() {
            if !joined { encoding.wait(); joined = true }
        }
        defer {
            pipeline.abort()   // stops the workers and the encode thread on every exit path
            join()
        }
        let settings = plan.settings
        do {
            if let start = plan.decodePlan.seekTarget(segmentStart: segment?.start, copies: out != nil) {
                try job.mediaCall(settings.input) {
                    try plan.input.seek(stream: plan.videoStream, to: start, "seeking to segment start")
                }
            }
            try readPackets()
            // End of input (or a graceful stop): drain the decoder, the pipeline, then the
            // encoder. No frame is left behind.
            if !interrupted && !reachedEnd {
                _ = decoder.send(nil)
                try drainDecoder()
                if !reachedEnd { try deinterlacer?.push(nil, submit) }
            }
            pipeline.finish()
            join()
            if let f = stage.failure { throw f }
            if control.stopNowRequested { throw JobInterrupted() }
            try stage.flush()
            try streams?.finish(via: stage.write)
            try out?.finish()
            try segmentFile?.finish()
        } catch let e as JobInterrupted {
            throw e
        } catch let e as NonFiniteOutputError {   // about the model and the input, not the output
            throw JobError(file: settings.input, message: e.counting(from: segment?.framesBefore ?? 0).description)
        } catch {
            throw job.wrap(error, plan.outputPath)
        }
        return PassOutcome(framesDecoded: framesDecoded, framesEncoded: stage.framesEncoded,
                           damaged: damaged, corruptPackets: corruptPackets, readError: readError,
                           interrupted: interrupted, lastFrameEnd: stage.lastFrameEnd,
                           lastFramePts: stage.lastFramePts, adjustedTimestamps: timeline.adjustedTimestamps,
                           encoderName: encoder.codecName, copiedStreams: copiedStreams,
                           streamWarnings: streams?.warnings ?? [], stats: stage.stats)
    }

    /// The demuxing loop: video packets to the decoder, the others copied through the encode
    /// stage's muxer lock, until the end of the file, a read error, the pass's end or a stop.
    private func readPackets() throws {
        reading: while !reachedEnd || copyTail {
            control.waitWhilePaused()
            // A graceful stop does not cut a segment short: it is the unit of resume.
            if control.stopNowRequested { throw JobInterrupted() }
            if control.stopRequested { interrupted = true; return }
            if let f = stage.failure { throw f }
            switch plan.input.read(into: packet) {
            case .endOfFile: return
            case .error(let code): readError = code; return
            case .packet: break
            }
            let index = Int(packet.streamIndex)
            if packet.isCorrupt { corruptPackets += 1 }
            if index == plan.videoStream {
                if reachedEnd { continue reading }
                try decode(packet)
            } else if let streams, streams.carries(index), copies(packet, index) {
                try streams.write(packet, from: plan.input, via: stage.write)
            }
        }
    }

    private func copies(_ packet: Packet, _ index: Int) -> Bool {
        let verdict = copyWindow.admit(packet, timeBase: plan.input.timeBase(stream: index))
        if verdict == .end { copyTail = false }
        return verdict == .keep
    }

    /// Sends one video packet to the decoder, taking decoded frames out whenever it is full.
    private func decode(_ packet: Packet) throws {
        while true {
            let timer = StageTimer()
            let sent = CoreBudget.shared.run { decoder.send(packet) }
            stage.decodeSeconds += timer.seconds
            switch sent {
            case .accepted: return try drainDecoder()
            case .full: try drainDecoder()
            case .rejected: damaged += 1; return try drainDecoder()
            }
        }
    }

    /// Takes every frame the decoder has ready.
    private func drainDecoder() throws {
        while true {
            let timer = StageTimer()
            let result = CoreBudget.shared.run { decoder.receive(into: frame) }
            stage.decodeSeconds += timer.seconds
            switch result {
            case .frame: try deliver(frame)
            case .needsInput, .endOfStream: return
            case .damaged: damaged += 1
            }
        }
    }

    /// A decoded frame: timestamped, deinterlaced if planned, then submitted.
    private func deliver(_ decoded: Frame) throws {
        if reachedEnd { return }
        timeline.assignTimestamp(to: decoded, timeBase: decoder.timeBase, frameRate: frameRate)
        guard let deinterlacer else { return try submit(decoded) }
        try deinterlacer.push(decoded, submit)
        // The frame at the end went in as the one before it needed: that one is out now.
        if let end = window.sourceEnd, decoded.pts >= end { reachedEnd = true }
    }

    /// A frame of the pass's window goes to the pipeline (converted to the working format);
    /// waits while the frames-in-flight capacity is reached.
    private func submit(_ decoded: Frame) throws {
        switch window.admit(decoded) {
        case .before: return
        case .after: reachedEnd = true; return
        case .inside: break
        }
        framesDecoded += 1
        try pipeline.submit(try CoreBudget.shared.run { try toWorking?.convert(decoded) } ?? decoded)
        if let f = stage.failure { throw f }
    }
}

/// What one pass did, for the job to judge (warnings) and report (`JobResult`).
struct PassOutcome {
    var framesDecoded: Int
    var framesEncoded: Int
    var damaged: Int
    var corruptPackets: Int
    var readError: Int32?
    var interrupted: Bool
    var lastFrameEnd: Double
    var lastFramePts: Int64?
    var adjustedTimestamps: Int
    var encoderName: String
    var copiedStreams: Int
    var streamWarnings: [String]
    var stats: PipelineStats
}
