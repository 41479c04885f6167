import Foundation
import CFFmpeg
import CUpresShims
import UpresMedia

/// A failure tied to one file, printed as `upres: error: FILE: MESSAGE`.
public struct JobError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }
    public var description: String { "\(file): \(message)" }
}

/// The run was stopped on request (Ctrl-C); nothing was written.
public struct JobInterrupted: Error, CustomStringConvertible, Sendable {
    public var description: String { "interrupted" }
}

/// Everything one upscaling run needs to know.
public struct JobSettings: Sendable {
    public var input: String
    /// nil = `OutputNaming.defaultOutput`. `-` (input or output): a pipe, `StandardStream`.
    public var output: String?
    /// The container by name (`-f`: nut, matroska...) instead of by the output's extension.
    public var format: String? = nil
    public var size: TargetSize
    public var upscaler: any UpscalerFactory
    public var encoder: EncoderSettings
    public var overwrite: Bool
    /// Decoder threads (0 = one per core).
    public var decoderThreads: Int32
    /// Video outputs are written in keyframe-aligned segments of at least this many seconds in
    /// a work folder beside the output, so an interrupted job resumes (`segmented`, default on).
    public var segmented: Bool = true
    public var segmentSeconds: Double = 10
    /// Discard a previous run's resumable state instead of refusing to mix with it.
    public var restart: Bool = false
    /// Where thumbnails of the output go (the dashboard's picture pane); nil = none made.
    public var preview: FramePreview? = nil
    /// Interlaced sources are deinterlaced (bwdif) before upscaling (`auto`: when tagged or detected).
    public var deinterlace: DeinterlaceMode = .auto
    /// Only this part of the input (nil = all of it); the output starts at 0.
    public var range: SourceRange? = nil

    public init(input: String, output: String? = nil, size: TargetSize = .scale(2),
                upscaler: any UpscalerFactory = ClassicalUpscalerFactory(filter: .lanczos),
                encoder: EncoderSettings = EncoderSettings(), overwrite: Bool = false, decoderThreads: Int32 = 0) {
        self.input = input
        self.output = output
        self.size = size
        self.upscaler = upscaler
        self.encoder = encoder
        self.overwrite = overwrite
        self.decoderThreads = decoderThreads
    }
}

/// What a finished job did.
public struct JobResult: Sendable {
    public var output: String
    public var framesDecoded: Int
    public var framesEncoded: Int
    public var framesExpected: Int?
    public var inputSize: (width: Int32, height: Int32)
    public var outputSize: (width: Int32, height: Int32)
    public var encoder: String
    public var pixelFormat: String
    public var copiedStreams: Int
    public var elapsed: Double
    public var warnings: [String]
    /// Stopped on request before the end: `output` holds the frames done so far (playable).
    public var interrupted: Bool = false
    /// The last statistics snapshot (class totals, stage times...).
    public var stats: PipelineStats = PipelineStats()
    /// The last encoded frame's pts (source time base).
    public var lastFramePts: Int64? = nil
    /// Frames an earlier, interrupted run had finished (resumed, not redone).
    public var framesResumed: Int = 0
}

/// Upscales the main video stream of one input into one output file, copying every
/// other stream, chapter and tag; the output appears only when everything succeeded.
///
///     let job = try UpscaleJob(JobSettings(input: "clip.mp4", size: .scale(2)))
///     let result = try job.run()
public final class UpscaleJob {
    public let settings: JobSettings
    public let input: InputFile
    public let outputPath: String
    public let videoStream: Int
    public let sourceFormat: VideoFormat
    /// What the upscaler takes: the source's format, or the working format it is converted to.
    public let workingFormat: VideoFormat
    /// The upscaler's output (before any crop to the encoder's chroma grid).
    public let upscaledFormat: VideoFormat
    /// The decoder used instead of FFmpeg's default one (libvpx for VP8/VP9 with alpha).
    public let alphaDecoder: String?
    /// What the encoder receives.
    public let encodeFormat: VideoFormat
    public let encoderCodec: UnsafePointer<AVCodec>
    public let muxer: UnsafePointer<AVOutputFormat>
    /// The part of the source and its deinterlacing (DecodePlan.swift).
    public let decodePlan: DecodePlan
    private(set) public var warnings: [String] = []

    /// Opens and checks the input and plans the output. Creates no file.
    public init(_ settings: JobSettings) throws {
        self.settings = settings
        let path = settings.input
        func fail(_ message: String) -> JobError { JobError(file: path, message: message) }

        // The input.
        var isDir: ObjCBool = false
        if !OutputNaming.isSequencePattern(path) && !StandardStream.isPipe(path) {
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw fail("no such file") }
            if isDir.boolValue { throw fail("is a directory, not a video file") }
            guard FileManager.default.isReadableFile(atPath: path) else { throw fail("permission denied") }
        }
        do {
            input = try InputFile(path: path)
            videoStream = try input.mainVideoStream()
        } catch let e as MediaInputError {
            throw fail(e.description)
        }
        let st = input.stream(videoStream)
        let par = st.pointee.codecpar!
        if avcodec_find_decoder(par.pointee.codec_id) == nil {
            let name = avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
            throw fail("no decoder for video codec '\(name)' in this FFmpeg build")
        }
        // VP8/VP9 alpha is decoded by libvpx only; the stream parameters then understate the format.
        alphaDecoder = VideoDecoder.alphaDecoder(input: input, streamIndex: videoStream)
        var srcFormat = AVPixelFormat(rawValue: par.pointee.format)
        if alphaDecoder != nil && srcFormat == AV_PIX_FMT_YUV420P { srcFormat = AV_PIX_FMT_YUVA420P }
        guard par.pointee.width > 0, par.pointee.height > 0, srcFormat != AV_PIX_FMT_NONE else {
            throw fail("video stream #\(videoStream) has no decodable picture size or pixel format")
        }
        do { decodePlan = try DecodePlan(settings: settings, input: input, stream: videoStream) } catch { throw fail("\(error)") }
        sourceFormat = VideoFormat(width: par.pointee.width, height: par.pointee.height, pixelFormat: srcFormat,
                                   sampleAspectRatio: av_guess_sample_aspect_ratio(input.context, st, nil),
                                   colour: ColourDescription(parameters: par),
                                   fieldOrder: decodePlan.deinterlace != nil ? AV_FIELD_PROGRESSIVE : par.pointee.field_order)
        // A palette's transparency (and GIF's: its decoder always gives BGRA) is kept in image
        // outputs (RGBA) but neither picks a lossless video encoder nor warns: an animated GIF
        // into .mkv stays H.264.
        let sourceHasAlpha = WorkingFormat.hasAlpha(srcFormat) && !WorkingFormat.isPalette(srcFormat)
            && par.pointee.codec_id != AV_CODEC_ID_GIF

        // The output name and container.
        let out = settings.output ?? OutputNaming.defaultOutput(for: path, size: settings.size, range: settings.range)
        outputPath = out
        func failOut(_ message: String) -> JobError { JobError(file: out, message: message) }
        let ext = URL(fileURLWithPath: out).pathExtension
        let muxer: UnsafePointer<AVOutputFormat>
        do { muxer = try OutputContainer.muxer(for: out, format: settings.format) } catch { throw failOut("\(error)") }
        self.muxer = muxer
        let muxerName = String(cString: muxer.pointee.name)

        // The encoder and its pixel format.
        var codecName: String
        if let explicit = settings.encoder.codec {
            codecName = explicit
        } else {
            let choice = EncoderChoice.choose(muxer: muxer, fileExtension: ext, source: srcFormat,
                                              sourceCodec: par.pointee.codec_id, sourceHasAlpha: sourceHasAlpha)
            codecName = choice.codecName
            if let note = choice.note { warnings.append(note) }
        }
        guard let codec = EncoderCatalog.find(codecName) else {
            throw failOut("unknown video encoder '\(codecName)' (available: \(EncoderCatalog.knownAvailable.joined(separator: ", ")))")
        }
        encoderCodec = codec
        let query = avformat_query_codec(muxer, codec.pointee.id, FF_COMPLIANCE_NORMAL)
        if query == 0 {
            throw failOut("the \(muxerName) container cannot hold \(codecName) video")
        }
        var encodePixel: AVPixelFormat
        if let name = settings.encoder.pixelFormat {
            guard let f = PixelFormat.named(name) else { throw failOut("unknown pixel format '\(name)'") }
            let supported = EncoderCatalog.pixelFormats(of: codec)
            if !supported.isEmpty && !supported.contains(f) {
                throw failOut("encoder \(codecName) does not take pixel format \(name) (it takes: "
                              + supported.map(PixelFormat.name).joined(separator: ", ") + ")")
            }
            encodePixel = f
        } else {
            // swscale writes no palette: a palette source is chosen for as the RGBA it decodes to.
            encodePixel = EncoderCatalog.bestPixelFormat(for: codec, source: WorkingFormat.isPalette(srcFormat)
                                                         ? AV_PIX_FMT_RGBA : srcFormat)
        }
        if sourceHasAlpha && !WorkingFormat.hasAlpha(encodePixel) {
            warnings.append("the source's alpha plane (transparency) is dropped: \(codecName) in \(muxerName) "
                            + "output (\(PixelFormat.name(encodePixel))) cannot hold it; .png, .mkv, .mov or .webm "
                            + "outputs keep it")
        }
        do {
            encodePixel = try OutputContainer.check(codec: codec, pixelFormat: encodePixel, muxer: muxerName,
                                                    explicitPixelFormat: settings.encoder.pixelFormat != nil)
        } catch { throw failOut("\(error)") }

        // Sizes. The upscaler works in the source pixel format.
        let size = settings.size.outputSize(width: sourceFormat.width, height: sourceFormat.height)
        guard size.width >= 1, size.height >= 1, size.width <= 16384, size.height <= 16384 else {
            throw fail("output size \(size.width)x\(size.height) is out of range (1 to 16384 pixels a side)")
        }
        var enc = sourceFormat.resized(width: size.width, height: size.height)
        enc.pixelFormat = encodePixel
        if PixelFormat.isFullRangeJPEG(encodePixel) { enc.colour.range = AVCOL_RANGE_JPEG }
        if PixelFormat.isRGB(encodePixel) && !PixelFormat.isRGB(srcFormat) {
            enc.colour.matrix = AVCOL_SPC_RGB
            enc.colour.range = AVCOL_RANGE_JPEG
        } else if !PixelFormat.isRGB(encodePixel) && PixelFormat.isRGB(srcFormat) {
            // RGB -> YUV: state the matrix and range used, so players decode it back the same way.
            enc.colour.matrix = enc.colour.effectiveMatrix(height: enc.height)
            enc.colour.range = PixelFormat.isFullRangeJPEG(encodePixel) ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
        }
        // H.264/HEVC/AV1 need even sizes for subsampled chroma: crop the last column/row.
        let shift = PixelFormat.chromaShift(encodePixel)
        let id = codec.pointee.id
        if id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC || id == AV_CODEC_ID_AV1 {
            let w = enc.width & ~Int32((1 << shift.x) - 1)
            let h = enc.height & ~Int32((1 << shift.y) - 1)
            if w != enc.width || h != enc.height {
                warnings.append("\(codecName) needs even dimensions for \(PixelFormat.name(encodePixel)): "
                                + "cropping \(enc.width)x\(enc.height) to \(w)x\(h)")
                enc.width = w
                enc.height = h
            }
        }
        encodeFormat = enc
        // The upscaler runs in the source's format where it can, else in a 16-bit working format
        // (RGB, RGBA, palettes... for the networks; `WorkingFormat`).
        let working = settings.upscaler.workingFormat(source: sourceFormat, encode: enc)
        workingFormat = working
        upscaledFormat = working.resized(width: size.width, height: size.height)
        if PixelFormat.bitDepth(encodePixel) < PixelFormat.bitDepth(srcFormat) {
            warnings.append("\(codecName) output in \(PixelFormat.name(encodePixel)) has fewer bits than the "
                            + "\(PixelFormat.name(srcFormat)) source")
        }

        // Never write the input, never overwrite without being asked.
        try OutputGuard.check(input: path, output: out, overwrite: settings.overwrite)
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
            do { out = try OutputFile(path: staging.writePath, format: muxer) } catch { throw wrap(error, outputPath) }
        }

        // Decoder, upscaler, optional format conversion, encoder.
        let decoder: VideoDecoder
        do {
            decoder = try VideoDecoder(input: input, streamIndex: videoStream, threads: settings.decoderThreads,
                                       decoderName: alphaDecoder)
        } catch { throw wrap(error, settings.input) }
        let st = input.stream(videoStream)
        let frameRate = av_guess_frame_rate(input.context, st, nil)
        let encoder: VideoEncoder
        do {
            encoder = try VideoEncoder(codec: encoderCodec, format: encodeFormat, timeBase: decodePlan.timeBase,
                                       frameRate: decodePlan.rate(frameRate), settings: settings.encoder,
                                       globalHeader: needsGlobalHeader, context: "'\(outputPath)'")
        } catch { throw wrap(error, outputPath) }

        var streamMap = [Int](repeating: -1, count: input.streamCount)
        var copied = 0
        var streams: OutputStreams? = nil
        var segmentFile: SegmentFileWriter? = nil
        if segment != nil {
            let par = avcodec_parameters_alloc()!
            defer { var p: UnsafeMutablePointer<AVCodecParameters>? = par; avcodec_parameters_free(&p) }
            try mediaCall(target) {
                try avCheck(avcodec_parameters_from_context(par, encoder.context), "avcodec_parameters_from_context", "video stream")
            }
            segmentFile = try SegmentFileWriter(path: staging.writePath, parameters: par, timeBase: encoder.timeBase)
        }
        if let out {
            let s = try configureOutput(out, target: target, segment: false) { ost in
                try avCheck(avcodec_parameters_from_context(ost.pointee.codecpar, encoder.context),
                            "avcodec_parameters_from_context", "video stream")
                ost.pointee.time_base = encoder.timeBase
            }
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
                                videoOutTimeBase: out.map { $0.stream(videoOut).pointee.time_base } ?? encoder.timeBase,
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
            try pipeline.submit(try toWorking?.convert(decoded) ?? decoded)
            if let f = stage.failure { throw f }
        }

        func drainDecoder() throws {
            while true {
                let t0 = ContinuousClock.now
                let result = decoder.receive(into: frame)
                stage.decodeSeconds += (ContinuousClock.now - t0).seconds
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
            try mediaCall(settings.input) {
                try avCheck(av_seek_frame(input.context, Int32(videoStream), start, AVSEEK_FLAG_BACKWARD),
                            "av_seek_frame", "seeking to segment start")
            }
        }
        // At a range's end, the copied streams' last packets can lie after the video's in the file.
        var copyTail = out != nil && decodePlan.range?.endPts != nil
        func copies(_ packet: Packet, _ index: Int) -> Bool {
            let verdict = copyWindow.admit(packet, timeBase: input.stream(index).pointee.time_base)
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
                        let t0 = ContinuousClock.now
                        let sent = decoder.send(packet)
                        stage.decodeSeconds += (ContinuousClock.now - t0).seconds
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
        do { try staging.commit() } catch { throw JobError(file: target, message: "\(error)") }
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

    /// Adds the output's streams in source order (the upscaled video, set up by `setVideo`, then
    /// copies of every stream the container takes; a segment holds the video only), the
    /// container metadata and chapters, and writes the header.
    func configureOutput(_ out: OutputFile, target: String, segment: Bool,
                         setVideo: (UnsafeMutablePointer<AVStream>) throws -> Void) throws -> OutputStreams {
        var streamMap = [Int](repeating: -1, count: input.streamCount)
        var copied = 0
        var conversions: [Int: StreamConversion] = [:]
        for i in 0..<input.streamCount {
            let ist = input.stream(i)
            if i == videoStream {
                let ost = out.addStream()
                streamMap[i] = Int(ost.pointee.index)
                try mediaCall(target) { try setVideo(ost) }
                OutputContainer.setFrameTimeBase(ost, format: out.formatName,
                                                 frameRate: decodePlan.rate(av_guess_frame_rate(input.context, ist, nil)))
                ost.pointee.avg_frame_rate = decodePlan.rate(ist.pointee.avg_frame_rate)
                ost.pointee.r_frame_rate = decodePlan.rate(ist.pointee.r_frame_rate)
                ost.pointee.sample_aspect_ratio = encodeFormat.sampleAspectRatio
                ost.pointee.disposition = ist.pointee.disposition
                StreamTags.copy(from: ist, to: ost, dropEncodingStatistics: true)
                // Matroska's AlphaMode follows the tag: set it exactly when the output carries alpha.
                av_dict_set(&ost.pointee.metadata, "alpha_mode", WorkingFormat.hasAlpha(encodeFormat.pixelFormat) ? "1" : nil, 0)
                _ = upres_copy_presentation_side_data(ost, ist)
                continue
            }
            if out.isImageMuxer || segment { continue }   // image files and segments hold the picture only
            let par = ist.pointee.codecpar!
            let type = par.pointee.codec_type
            let codecName = avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
            let typeName = av_get_media_type_string(type).map { String(cString: $0) } ?? "data"
            if par.pointee.codec_id == AV_CODEC_ID_NONE && type != AVMEDIA_TYPE_ATTACHMENT {
                warnings.append("skipped \(typeName) stream #\(i): unknown codec")
                continue
            }
            if type == AVMEDIA_TYPE_VIDEO && !input.isAttachedPicture(i) {
                warnings.append("skipped extra video stream #\(i) (\(codecName)): upres upscales one video stream")
                continue
            }
            if OutputContainer.holdsVideoOnly(out.formatName) {
                warnings.append("skipped \(typeName) stream #\(i) (\(codecName)): the \(out.formatName) container holds the video only")
                continue
            }
            let holds = type == AVMEDIA_TYPE_ATTACHMENT
                ? ContainerTraits.holdsAttachments(out.formatName)   // muxers answer queries for codecs, not fonts
                : StreamConversion.holds(ist, in: out)
            // What the container cannot hold is converted to what it does (audio, text subtitles).
            var conversion: StreamConversion? = nil
            if !holds {
                switch StreamConversion.plan(ist, index: i, into: out) {
                case .success(let c): conversion = c
                case .failure(let skip):
                    warnings.append("skipped \(typeName) stream #\(i) (\(codecName)): \(skip.reason); use .mkv to keep it")
                    continue
                }
            }
            let ost = out.addStream()
            if let conversion {
                try mediaCall(target) { try conversion.configure(ost) }
                conversions[i] = conversion
                warnings.append(conversion.summary)
            } else {
                try mediaCall(target) {
                    try avCheck(avcodec_parameters_copy(ost.pointee.codecpar, par), "avcodec_parameters_copy", "stream #\(i)")
                }
                ost.pointee.codecpar.pointee.codec_tag = 0
                ost.pointee.time_base = ist.pointee.time_base
            }
            ost.pointee.disposition = ist.pointee.disposition
            ost.pointee.avg_frame_rate = ist.pointee.avg_frame_rate
            ost.pointee.r_frame_rate = ist.pointee.r_frame_rate
            ost.pointee.sample_aspect_ratio = ist.pointee.sample_aspect_ratio
            StreamTags.copy(from: ist, to: ost, dropEncodingStatistics: conversion != nil)
            _ = upres_copy_presentation_side_data(ost, ist)
            streamMap[i] = Int(ost.pointee.index)
            copied += 1
        }
        if !out.isImageMuxer && !segment {
            av_dict_copy(&out.context.pointee.metadata, input.context.pointee.metadata, 0)
            av_dict_set(&out.context.pointee.metadata, "encoder", nil, 0)
            try mediaCall(target) {
                try avCheck(upres_copy_chapters(out.context, input.context), "copying chapters", "'\(target)'")
            }
            decodePlan.copyWindow.clipChapters(out.context)
        }
        let streams = try OutputStreams(out: out, input: input, map: streamMap, copied: copied, conversions: conversions,
                                        target: target)
        let muxOptions = OutputContainer.muxOptions(format: out.formatName, target: target, segment: segment,
                                                    imageMuxer: out.isImageMuxer)
        do { try out.writeHeader(options: muxOptions) } catch let e as MediaError where e.function == "avio_open" {
            throw JobError(file: target, message: "cannot write in \(OutputGuard.folder(of: target)): \(e.message)")
        } catch { throw wrap(error, target) }

        return streams
    }

    /// Whether the output container wants codec headers out of band (MP4, MKV...).
    var needsGlobalHeader: Bool { (muxer.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    /// Where the container says the video ends (stream duration, else file duration), in seconds.
    private func videoEndTime() -> Double? {
        let st = input.stream(videoStream)
        let start = st.pointee.start_time != noTimestamp ? Double(st.pointee.start_time) * av_q2d(st.pointee.time_base) : 0
        if st.pointee.duration > 0 && st.pointee.duration != noTimestamp {
            return start + Double(st.pointee.duration) * av_q2d(st.pointee.time_base)
        }
        guard let d = input.durationSeconds else { return nil }
        let fileStart = input.context.pointee.start_time != noTimestamp
            ? Double(input.context.pointee.start_time) / Double(AV_TIME_BASE) : 0
        return fileStart + d
    }

    private func wrap(_ error: Error, _ file: String) -> Error {
        if error is JobError || error is JobInterrupted { return error }
        return JobError(file: file, message: "\(error)")
    }

    private func mediaCall(_ file: String, _ body: () throws -> Void) throws {
        do { try body() } catch { throw wrap(error, file) }
    }
}

/// Keeps source timestamps: best-effort pts from the decoder, a synthesised one only when
/// a frame has none, and strictly increasing values (encoders and muxers need that).
struct FrameTimeline {
    private(set) var adjustedTimestamps = 0
    private var lastPts: Int64? = nil
    private var lastDuration: Int64 = 0

    mutating func assignTimestamp(to frame: Frame, timeBase: AVRational, frameRate: AVRational) {
        var pts = frame.bestEffortTimestamp
        if pts == noTimestamp { pts = frame.pts }
        let nominal: Int64 = frameRate.num > 0
            ? max(1, av_rescale_q(1, av_inv_q(frameRate), timeBase)) : 1
        if pts == noTimestamp {
            pts = lastPts.map { $0 + max(lastDuration, nominal) } ?? 0
            adjustedTimestamps += 1
        } else if let last = lastPts, pts <= last {
            pts = last + 1
            adjustedTimestamps += 1
        }
        frame.pts = pts
        if frame.duration <= 0 { frame.duration = nominal }
        lastDuration = frame.duration
        lastPts = pts
    }

}

/// Carries a value the compiler cannot prove Sendable into another thread whose use of it the
/// caller serialises (the progress callback runs on the encode thread only).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Copies stream tags; drops mkvmerge's statistics tags that describe the old encoding.
enum StreamTags {
    static func copy(from ist: UnsafeMutablePointer<AVStream>, to ost: UnsafeMutablePointer<AVStream>,
                     dropEncodingStatistics: Bool) {
        av_dict_copy(&ost.pointee.metadata, ist.pointee.metadata, 0)
        guard dropEncodingStatistics else { return }
        for key in ["BPS", "BPS-eng", "NUMBER_OF_FRAMES", "NUMBER_OF_FRAMES-eng", "NUMBER_OF_BYTES",
                    "NUMBER_OF_BYTES-eng", "_STATISTICS_WRITING_APP", "_STATISTICS_WRITING_APP-eng",
                    "_STATISTICS_WRITING_DATE_UTC", "_STATISTICS_WRITING_DATE_UTC-eng", "_STATISTICS_TAGS",
                    "_STATISTICS_TAGS-eng", "DURATION", "DURATION-eng", "encoder", "ENCODER"] {
            av_dict_set(&ost.pointee.metadata, key, nil, 0)
        }
    }
}

enum ContainerTraits {
    /// Containers that store attachments (fonts) as streams.
    static func holdsAttachments(_ muxer: String) -> Bool { muxer == "matroska" }
}
