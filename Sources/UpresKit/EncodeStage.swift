import Foundation
import UpresMedia

/// The last stage of a job, on its own thread: takes upscaled frames in order from the
/// pipeline, converts them to the encoder's pixel format when needed, encodes and muxes them,
/// and publishes progress. The muxer is shared with the demuxing thread (stream copies of
/// audio, subtitles...), so every write goes through `write(_:)`, under a lock.
final class EncodeStage: @unchecked Sendable {
    private let encoder: VideoEncoder
    private let out: PacketSink
    private let muxLock = NSLock()
    private let videoOut: Int32
    private let videoOutTimeBase: Rational
    private let decoderTimeBase: Rational
    private let upscaledFormat: VideoFormat
    private let encodeFormat: VideoFormat
    private let sourceColour: ColourDescription
    private let outPacket = Packet()
    private var converter: FrameScaler? = nil
    private var converterFor: VideoFormat? = nil
    private var convertedFrames: FramePool? = nil   // buffers of converted frames, reused
    /// libx264 in FFmpeg 5.1 leaves packet durations at 0; remember each frame's.
    private var durations: [Int64: Int64] = [:]
    private var meter: ThroughputMeter
    private let progress: (PipelineStats) -> Void
    /// Frames of earlier segments (progress counts the whole job).
    private let framesBefore: Int
    /// Thumbnails of the output for a front end's picture pane.
    private let preview: PreviewRenderer?

    // Read by the job after `run` returns.
    private(set) var framesUpscaled = 0
    private(set) var framesEncoded = 0
    private(set) var lastFrameEnd: Double = 0
    /// The last encoded frame's pts (source time base): where a stopped segment was cut.
    private(set) var lastFramePts: Int64? = nil
    private(set) var encodeSeconds = 0.0
    /// Set on the encode thread, read by the demuxing thread between packets.
    var failure: Error? {
        stateLock.lock()
        defer { stateLock.unlock() }
        return storedFailure
    }
    private var storedFailure: Error?
    private let stateLock = NSLock()
    var stats: PipelineStats
    /// Decode time, added to by the demuxing thread, read by the encode thread for snapshots.
    var decodeSeconds: Double {
        get { stateLock.lock(); defer { stateLock.unlock() }; return storedDecodeSeconds }
        set { stateLock.lock(); storedDecodeSeconds = newValue; stateLock.unlock() }
    }
    private var storedDecodeSeconds = 0.0

    init(encoder: VideoEncoder, out: PacketSink, videoOut: Int, videoOutTimeBase: Rational, decoderTimeBase: Rational,
         upscaledFormat: VideoFormat, encodeFormat: VideoFormat, sourceColour: ColourDescription,
         stats: PipelineStats, started: Date, framesBefore: Int = 0, framesAtStart: Int = 0,
         preview: FramePreview? = nil, progress: @escaping (PipelineStats) -> Void) {
        self.encoder = encoder
        self.preview = preview.map(PreviewRenderer.init)
        self.out = out
        self.videoOut = Int32(videoOut)
        self.videoOutTimeBase = videoOutTimeBase
        self.decoderTimeBase = decoderTimeBase
        self.upscaledFormat = upscaledFormat
        self.encodeFormat = encodeFormat
        self.sourceColour = sourceColour
        self.stats = stats
        self.progress = progress
        self.framesBefore = framesBefore
        meter = ThroughputMeter(start: started, framesBefore: framesAtStart)
    }

    /// Writes a packet to the shared muxer.
    func write(_ packet: Packet) throws {
        muxLock.lock()
        defer { muxLock.unlock() }
        try out.write(packet)
    }

    var bytesWritten: Int64 {
        muxLock.lock()
        defer { muxLock.unlock() }
        return out.bytesWritten
    }

    /// Encodes every frame the pipeline yields until it is finished and drained (or fails).
    /// Errors are kept in `failure`; the pipeline is aborted so the demuxing thread stops too.
    func run(_ pipeline: any FramePipeline, stop: JobControl) {
        do {
            while let frame = try pipeline.next(wait: true) {
                if stop.stopNowRequested { break }
                try encode(frame, pipeline)
            }
        } catch {
            stateLock.lock()
            storedFailure = error
            stateLock.unlock()
            pipeline.abort()
        }
    }

    /// Flushes the encoder (after `run`, on the job's thread).
    func flush() throws {
        try encoder.send(nil)
        try drain()
    }

    private func drain() throws {
        while true {
            switch try encoder.receive(into: outPacket) {
            case .packet:
                outPacket.streamIndex = videoOut
                if let d = durations.removeValue(forKey: outPacket.pts), outPacket.duration <= 0 {
                    outPacket.duration = d
                }
                outPacket.rescaleTimestamps(from: encoder.timeBase, to: videoOutTimeBase)
                outPacket.clearPosition()
                try write(outPacket)
                framesEncoded += 1
            case .needsInput, .endOfStream:
                return
            }
        }
    }

    private func encode(_ upscaled: Frame, _ pipeline: any FramePipeline) throws {
        let timer = StageTimer()
        var big = upscaled
        framesUpscaled += 1
        if big.format != encodeFormat.pixelFormat {
            var from = upscaledFormat
            from.colour = big.colour.filling(from: sourceColour)
            if converter == nil || converterFor != from {
                var to = upscaledFormat
                to.pixelFormat = encodeFormat.pixelFormat
                to.colour = encodeFormat.colour
                converter = try FrameScaler(from: from, to: to, filter: .bicubic, threads: 0)
                converterFor = from
            }
            if convertedFrames == nil {
                convertedFrames = FramePool(width: upscaledFormat.width, height: upscaledFormat.height, format: encodeFormat.pixelFormat)
            }
            let converted = try convertedFrames!.frame()
            try CoreBudget.shared.run { try converter!.scale(big, into: converted) }
            try converted.copyProperties(from: big)
            big = converted
        }
        if big.width != encodeFormat.width || big.height != encodeFormat.height {
            big.crop(width: encodeFormat.width, height: encodeFormat.height)   // right/bottom, to the chroma grid
        }
        big.sampleAspectRatio = encodeFormat.sampleAspectRatio
        big.setColour(encodeFormat.colour)
        big.letEncoderChoosePictureType()
        durations[big.pts] = big.duration
        lastFramePts = big.pts
        lastFrameEnd = Double(big.pts + big.duration) * decoderTimeBase.doubleValue
        try CoreBudget.shared.run {
            try encoder.send(big)
            try drain()
        }
        preview?.offer(big, format: encodeFormat, frameNumber: framesBefore + framesUpscaled)
        encodeSeconds += timer.seconds

        stats.framesDone = framesBefore + framesUpscaled
        stats.bytesWritten = bytesWritten
        pipeline.fill(&stats)
        stats.stageSeconds.decode = decodeSeconds
        stats.stageSeconds.encode = encodeSeconds
        meter.update(&stats, now: Date(), position: Double(big.pts) * decoderTimeBase.doubleValue)
        progress(stats)
    }
}
