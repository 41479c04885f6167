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

    /// One pass over the input: the whole file into the output, or (`segment`) the frames of one
    /// segment, video only, into a segment file.
    func runPass(segment: SegmentSpec?, control: JobControl, onStart: (PipelineStats) -> Void,
                 progress: @escaping (PipelineStats) -> Void) throws -> JobResult {
        let started = segment?.jobStarted ?? Date()
        let target = segment?.path ?? outputPath
        let staging = try OutputStaging(finalPath: target, overwrite: segment != nil || settings.overwrite)
        var committed = false
        defer { if !committed { staging.discard() } }

        // A whole file goes through the muxer; a segment's packets into a segment file.
        var out: OutputFile? = nil
        if segment == nil {
            do { out = try OutputFile(path: staging.writePath, encoding: encoding) } catch { throw wrap(error, outputPath) }
        }

        // Decoder, upscaler, optional format conversion, encoder.
        let decoder: VideoDecoder
        do {
            decoder = try VideoDecoder(input: input, streamIndex: videoStream, threads: settings.decoderThreads,
                                       decoderName: alphaDecoder)
        } catch { throw wrap(error, settings.input) }
        let frameRate = input.guessedFrameRate(stream: videoStream)
        let encoder: VideoEncoder
        do {
            encoder = try VideoEncoder(encoding: encoding, format: encodeFormat, timeBase: decodePlan.timeBase,
                                       frameRate: decodePlan.rate(frameRate), settings: settings.encoder,
                                       context: "'\(outputPath)'")
        } catch { throw wrap(error, outputPath) }

        var streamMap = [Int](repeating: -1, count: input.streamCount)
        var copied = 0
        var streams: OutputStreams? = nil
        var segmentFile: SegmentFileWriter? = nil
        if segment != nil {
            do { segmentFile = try SegmentFileWriter(path: staging.writePath, encoder: encoder) } catch { throw wrap(error, target) }
        }
        if let out {
            let s = try configureOutput(out, target: target, segment: false, video: .encoder(encoder))
            (streams, streamMap, copied) = (s, s.map, s.copied)
        } else {
            streamMap[videoStream] = 0
        }

        var stats = PipelineStats()
        stats.input = settings.input
        stats.output = outputPath
        stats.inputWidth = Int(sourceFormat.width)
        stats.inputHeight = Int(sourceFormat.height)
        stats.outputWidth = Int(encodeFormat.width)
        stats.outputHeight = Int(encodeFormat.height)
        stats.model = settings.upscaler.name
        stats.precision = settings.upscaler.precision
        let expectedFrames = self.expectedFrames
        stats.framesTotal = expectedFrames?.count
        stats.framesTotalEstimated = !(expectedFrames?.exact ?? true)
        if let segment {
            stats.framesTotal = segment.framesTotal
            stats.framesTotalEstimated = false
        }
        onStart(stats)
        let videoOut = streamMap[videoStream]

        // The frame path: this thread demuxes, decodes and submits; the pipeline's workers
        // upscale; the encode stage's thread encodes and muxes, all at once.
        let pipeline: any FramePipeline
        do { pipeline = try settings.upscaler.makePipeline(input: workingFormat, output: upscaledFormat) }
        catch { throw wrap(error, settings.input) }
        var state = FrameTimeline()
        var framesDecoded = 0, damaged = 0, corruptPackets = 0
        var readError: Int32? = nil
        var interrupted = false
        let expected = self.expectedFrames
        let packet = Packet(), frame = Frame()
        let toWorking = workingFormat == sourceFormat ? nil : WorkingConverter(source: sourceFormat, working: workingFormat)
        let progressBox = UncheckedBox(progress)
        let sink: PacketSink = out.map(OutputContainer.sink) ?? segmentFile!
        let stage = EncodeStage(encoder: encoder, out: sink, videoOut: videoOut,
                                videoOutTimeBase: out.map { $0.timeBase(stream: videoOut) } ?? encoder.timeBase,
                                decoderTimeBase: decodePlan.timeBase,
                                upscaledFormat: upscaledFormat, encodeFormat: encodeFormat,
                                sourceColour: workingFormat.colour, stats: stats, started: started,
                                framesBefore: segment?.framesBefore ?? 0, framesAtStart: segment?.framesAtStart ?? 0,
                                preview: settings.preview, progress: { progressBox.value($0) })
        let encoding = DispatchGroup()
        encoding.enter()
        let encodeThread = Thread { [stage, pipeline = UncheckedBox(pipeline)] in
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

        var reachedEnd = false
        // The pass keeps the frames with start <= pts < end of its segment and the range (the
        // seek lands on a keyframe before start; open-GOP leading frames fall before it too).
        let window = decodePlan.window(segmentStart: segment?.start, segmentEnd: segment?.end)
        let copyWindow = decodePlan.copyWindow
        let deinterlacer = decodePlan.makeDeinterlacer(pixelFormat: sourceFormat.pixelFormat)
        func deliver(_ decoded: Frame) throws {
            if reachedEnd { return }
            state.assignTimestamp(to: decoded, timeBase: decoder.timeBase, frameRate: frameRate)
            guard let deinterlacer else { return try encode(decoded) }
            try deinterlacer.push(decoded, encode)
            // The frame at the end went in as the one before it needed: that one is out now.
            if let end = window.sourceEnd, decoded.pts >= end { reachedEnd = true }
        }
        func encode(_ decoded: Frame) throws {
            switch window.admit(decoded) {
            case .before: return
            case .after: reachedEnd = true; return
            case .inside: break
            }
            framesDecoded += 1
            // waits while the frames-in-flight capacity is reached
            try pipeline.submit(try CoreBudget.shared.run { try toWorking?.convert(decoded) } ?? decoded)
            if let f = stage.failure { throw f }
        }

        func drainDecoder() throws {
            while true {
                let timer = StageTimer()
                let result = CoreBudget.shared.run { decoder.receive(into: frame) }
                stage.decodeSeconds += timer.seconds
                switch result {
                case .frame: try deliver(frame)
                case .needsInput, .endOfStream: return
                case .damaged:
                    damaged += 1
                    continue
                }
            }
        }

        if let start = decodePlan.seekTarget(segmentStart: segment?.start, copies: out != nil) {
            try mediaCall(settings.input) { try input.seek(stream: videoStream, to: start, "seeking to segment start") }
        }
        // At a range's end, the copied streams' last packets can lie after the video's in the file.
        var copyTail = out != nil && decodePlan.range?.endPts != nil
        func copies(_ packet: Packet, _ index: Int) -> Bool {
            let verdict = copyWindow.admit(packet, timeBase: input.timeBase(stream: index))
            if verdict == .end { copyTail = false }
            return verdict == .keep
        }
        do {
            reading: while !reachedEnd || copyTail {
                control.waitWhilePaused()
                // A graceful stop does not cut a segment short: it is the unit of resume.
                if control.stopNowRequested { throw JobInterrupted() }
                if control.stopRequested { interrupted = true; break reading }
                if let f = stage.failure { throw f }
                switch input.read(into: packet) {
                case .endOfFile:
                    break reading
                case .error(let code):
                    readError = code
                    break reading
                case .packet:
                    break
                }
                let index = Int(packet.streamIndex)
                if packet.isCorrupt { corruptPackets += 1 }
                if index == videoStream {
                    if reachedEnd { continue }
                    sending: while true {
                        let timer = StageTimer()
                        let sent = CoreBudget.shared.run { decoder.send(packet) }
                        stage.decodeSeconds += timer.seconds
                        switch sent {
                        case .accepted: break sending
                        case .full: try drainDecoder()
                        case .rejected: damaged += 1; break sending
                        }
                    }
                    try drainDecoder()
                } else if let streams, streams.carries(index), copies(packet, index) {
                    try streams.write(packet, from: input, via: stage.write)
                }
            }
            // End of input (or a graceful stop): drain the decoder, the pipeline, then the
            // encoder. No frame is left behind.
            if !interrupted && !reachedEnd {
                _ = decoder.send(nil)
                try drainDecoder()
                if !reachedEnd { try deinterlacer?.push(nil, encode) }
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
            throw wrap(error, outputPath)
        }

        let framesEncoded = stage.framesEncoded
        let lastFrameEnd = stage.lastFrameEnd
        stats = stage.stats
        if interrupted && segment == nil {
            let kept = framesEncoded > 0 ? try staging.commitPartial() : nil
            committed = true
            guard let partial = kept else {
                staging.discard()
                throw JobInterrupted()
            }
            return JobResult(output: partial, framesDecoded: framesDecoded, framesEncoded: framesEncoded,
                             framesExpected: expected?.count, inputSize: (sourceFormat.width, sourceFormat.height),
                             outputSize: (encodeFormat.width, encodeFormat.height), encoder: encoder.codecName,
                             pixelFormat: PixelFormat.name(encodeFormat.pixelFormat), copiedStreams: copied,
                             elapsed: Date().timeIntervalSince(started), warnings: warnings, interrupted: true, stats: stats)
        }
        if framesDecoded == 0 {
            if interrupted { throw JobInterrupted() }   // stopped before a segment's first frame
            throw JobError(file: settings.input, message: "no video frame could be decoded (damaged or truncated file)")
        }
        if let code = readError {
            warnings.append("input ended with a read error (\(MediaError.text(for: code))): \((segment?.framesBefore ?? 0) + framesDecoded) frames recovered")
        } else if damaged > 0 || corruptPackets > 0 {
            warnings.append("damaged input: \(damaged) undecodable packets, \(corruptPackets) corrupt packets; "
                            + "\((segment?.framesBefore ?? 0) + framesDecoded) frames recovered")
        }
        // Truncation is judged on the whole job: in one pass, or in the last segment.
        let totalDecoded = (segment?.framesBefore ?? 0) + framesDecoded
        if segment?.end != nil || decodePlan.range != nil {
        } else if let expected, expected.exact, totalDecoded < expected.count, readError == nil, damaged == 0 {
            warnings.append("input looks truncated: \(totalDecoded) of \(expected.count) announced frames recovered")
        } else if let streamEnd = videoEndTime(), lastFrameEnd + 0.5 < streamEnd, readError == nil, damaged == 0 {
            warnings.append("input ends early: video stops at \(String(format: "%.2f", lastFrameEnd)) s of "
                            + "\(String(format: "%.2f", streamEnd)) s (truncated file?); \(totalDecoded) frames recovered")
        }
        warnings += streams?.warnings ?? []
        if state.adjustedTimestamps > 0 {
            warnings.append("\(state.adjustedTimestamps) frames had missing or out-of-order timestamps and were re-timed")
        }
        do { try staging.commit() } catch { throw JobError(file: target, message: "\(error)", cause: error) }
        committed = true
        var result = JobResult(output: target, framesDecoded: framesDecoded, framesEncoded: framesEncoded,
                               framesExpected: expected?.count, inputSize: (sourceFormat.width, sourceFormat.height),
                               outputSize: (encodeFormat.width, encodeFormat.height), encoder: encoder.codecName,
                               pixelFormat: PixelFormat.name(encodeFormat.pixelFormat), copiedStreams: copied,
                               elapsed: Date().timeIntervalSince(started), warnings: warnings,
                               interrupted: interrupted, stats: stats)
        result.lastFramePts = stage.lastFramePts.map(decodePlan.sourcePts)
        return result
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
