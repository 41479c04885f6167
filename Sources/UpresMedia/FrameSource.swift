import Foundation
import CFFmpeg

/// The decoded frames of a file's main video stream, one at a time, with the job's timestamp
/// rules (best-effort pts, re-timed when missing or out of order); `seek` for a frame at a time.
/// Errors name the file (`JobError`).
///
///     let source = try FrameSource(path: "clip.mp4")
///     while let frame = try source.next() { print(source.seconds(frame)) }
public final class FrameSource {
    public let path: String
    public let input: InputFile
    public let streamIndex: Int
    /// Size, pixel format and colour tags from the stream (frames may state their own tags).
    public let format: VideoFormat
    public let timeBase: AVRational
    public let frameRate: AVRational
    /// The stream's first timestamp (time base units): `seconds` counts from it.
    public let start: Int64
    /// Damaged packets skipped and read errors met so far.
    public private(set) var damaged = 0
    public private(set) var readError: Int32? = nil
    private let decoder: VideoDecoder
    private let packet = Packet()
    private var timeline = FrameTimeline()
    private var draining = false
    private var packetPending = false

    public init(path: String, threads: Int32 = 0) throws {
        self.path = path
        func fail(_ m: String) -> JobError { JobError(file: path, message: m) }
        var isDir: ObjCBool = false
        if !ImageSequence.isPattern(path) {
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw fail("no such file") }
            if isDir.boolValue { throw fail("is a directory, not a video or image file") }
            guard FileManager.default.isReadableFile(atPath: path) else { throw fail("permission denied") }
        }
        do {
            input = try InputFile(path: path)
            streamIndex = try input.mainVideoStream()
            decoder = try VideoDecoder(input: input, streamIndex: streamIndex, threads: threads)
        } catch let e as MediaInputError {
            throw fail(e.description)
        } catch {
            throw fail("\(error)")
        }
        let st = input.stream(streamIndex)
        let par = st.pointee.codecpar!
        let pixel = AVPixelFormat(rawValue: par.pointee.format)
        guard par.pointee.width > 0, par.pointee.height > 0, pixel != AV_PIX_FMT_NONE else {
            throw fail("video stream #\(streamIndex) has no decodable picture size or pixel format")
        }
        format = VideoFormat(width: par.pointee.width, height: par.pointee.height, pixelFormat: pixel,
                             sampleAspectRatio: av_guess_sample_aspect_ratio(input.context, st, nil),
                             colour: ColourDescription(parameters: par), fieldOrder: par.pointee.field_order)
        timeBase = st.pointee.time_base
        frameRate = av_guess_frame_rate(input.context, st, nil)
        start = st.pointee.start_time != noTimestamp ? st.pointee.start_time : 0
    }

    /// One frame's nominal duration in the stream time base (from the frame rate; at least 1).
    public var nominalDuration: Int64 {
        frameRate.num > 0 && frameRate.den > 0 ? max(1, av_rescale_q(1, av_inv_q(frameRate), timeBase)) : 1
    }

    /// Seconds from the stream's start to a frame of this source.
    public func seconds(_ frame: Frame) -> Double { Double(frame.pts - start) * av_q2d(timeBase) }

    /// The stream's duration in seconds, when the container says.
    public var durationSeconds: Double? {
        let st = input.stream(streamIndex)
        if st.pointee.duration > 0 && st.pointee.duration != noTimestamp {
            return Double(st.pointee.duration) * av_q2d(timeBase)
        }
        return input.durationSeconds
    }

    /// The next decoded frame (a new `Frame` each time, pts set), nil at the end. A damaged
    /// packet is skipped; a read error ends the stream as FFmpeg would (see `readError`).
    public func next() throws -> Frame? {
        let frame = Frame()
        while true {
            if packetPending {
                switch decoder.send(packet) {
                case .accepted: packetPending = false
                case .rejected: damaged += 1; packetPending = false
                case .full: break   // frames first; the packet stays pending
                }
            }
            switch decoder.receive(into: frame) {
            case .frame:
                timeline.assignTimestamp(to: frame, timeBase: timeBase, frameRate: frameRate)
                return frame
            case .damaged:
                damaged += 1
                continue
            case .endOfStream:
                return nil
            case .needsInput:
                if draining { return nil }
                if packetPending { packetPending = false; damaged += 1; continue }   // neither side moves
            }
            switch input.read(into: packet) {
            case .packet:
                if Int(packet.streamIndex) == streamIndex { packetPending = true }
            case .endOfFile:
                _ = decoder.send(nil)
                draining = true
            case .error(let code):
                readError = code
                _ = decoder.send(nil)
                draining = true
            }
        }
    }

    /// The frame shown at `seconds` from the start (the last one starting at or before it;
    /// the first frame when `seconds` is before it), decoded after a seek to the keyframe
    /// before it.
    public func frame(at seconds: Double) throws -> Frame? {
        let target = start + Int64((seconds / av_q2d(timeBase)).rounded(.down))
        if seconds > 0 && !input.isImage {
            // A failed seek (unseekable input) decodes from the start instead.
            if av_seek_frame(input.context, Int32(streamIndex), target, AVSEEK_FLAG_BACKWARD) >= 0 {
                avcodec_flush_buffers(decoder.context)
                timeline = FrameTimeline()
                packetPending = false
            }
        }
        var chosen: Frame? = nil
        while let f = try next() {
            if f.pts > target && chosen != nil { break }
            chosen = f
            if f.pts >= target { break }
        }
        return chosen
    }
}
