import Foundation
import CFFmpeg
import CMediaShims

/// A demuxed input file (`avformat_open_input` + `avformat_find_stream_info`).
public final class InputFile {
    public let path: String
    let context: UnsafeMutablePointer<AVFormatContext>

    /// Opens `path`, refusing what is not a media file with a clear error. `-` is standard
    /// input: any stream FFmpeg reads from a pipe (NUT, Matroska, MPEG-TS, YUV4MPEG...; the
    /// format is probed), read once, never seeked.
    public init(path: String) throws {
        self.path = path
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let opened = avformat_open_input(&ctx, path == "-" ? "pipe:0" : path, nil, nil)
        if opened < 0 {
            // Demuxers answer damaged headers with invalid data, end of file or (Matroska) EIO.
            if [MediaError.invalidData, MediaError.endOfFile, upres_averror(EIO)].contains(opened), let format = InputFile.probe(path) {
                throw MediaInputError("looks like \(format) but cannot be opened: the file is damaged or truncated")
            }
            if opened == MediaError.invalidData {
                throw MediaInputError("not a video or image file FFmpeg can read (format not recognised)")
            }
            if opened == MediaError.endOfFile { throw MediaInputError("the file ends before its header does (truncated?)") }
            throw MediaInputError("cannot open: \(MediaError.text(for: opened))")
        }
        guard let ctx else { throw MediaInputError("cannot open") }
        context = ctx
        let info = avformat_find_stream_info(ctx, nil)
        if info < 0 {   // deinit closes the input
            throw MediaInputError("cannot read stream information: \(MediaError.text(for: info))")
        }
    }

    /// The container FFmpeg recognises from the first bytes of a file, if any.
    static func probe(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var bytes = [UInt8](handle.readData(ofLength: 1 << 16))
        let size = bytes.count
        bytes.append(contentsOf: [UInt8](repeating: 0, count: Int(AVPROBE_PADDING_SIZE)))
        return bytes.withUnsafeMutableBufferPointer { buf -> String? in
            var pd = AVProbeData()
            pd.buf = buf.baseAddress
            pd.buf_size = Int32(size)
            var score: Int32 = 0
            return path.withCString { name -> String? in
                pd.filename = name
                guard let f = av_probe_input_format3(&pd, 1, &score), score > AVPROBE_SCORE_EXTENSION else { return nil }
                return String(cString: f.pointee.long_name ?? f.pointee.name)
            }
        }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&ctx)
    }

    public var streamCount: Int { Int(context.pointee.nb_streams) }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> {
        precondition(index >= 0 && index < streamCount, "stream index out of range")
        return context.pointee.streams[index]!
    }

    /// The kind of stream `index` (`video`, `audio`, `subtitle`...), as `MediaNames.mediaType`.
    public func mediaTypeName(stream index: Int) -> String { MediaNames.mediaType(stream(index).pointee.codecpar.pointee.codec_type) }
    /// The codec of stream `index` (`h264`, `aac`...).
    public func codecName(stream index: Int) -> String { MediaNames.codec(stream(index).pointee.codecpar.pointee.codec_id) }

    /// The time base of stream `index`'s packets.
    public func timeBase(stream index: Int) -> Rational { stream(index).pointee.time_base }

    /// Seeks stream `index` to the keyframe at or before `timestamp` (its time base).
    public func seek(stream index: Int, to timestamp: Int64, _ what: @autoclosure () -> String) throws {
        try avCheck(av_seek_frame(context, Int32(index), timestamp, AVSEEK_FLAG_BACKWARD), "av_seek_frame", what())
    }

    /// Where the container says stream `index` ends (its start plus its duration, else the
    /// file's start plus its duration), in seconds.
    public func endSeconds(stream index: Int) -> Double? {
        let st = stream(index)
        let start = st.pointee.start_time != noTimestamp ? Double(st.pointee.start_time) * av_q2d(st.pointee.time_base) : 0
        if st.pointee.duration > 0 && st.pointee.duration != noTimestamp {
            return start + Double(st.pointee.duration) * av_q2d(st.pointee.time_base)
        }
        guard let d = durationSeconds else { return nil }
        let fileStart = context.pointee.start_time != noTimestamp ? Double(context.pointee.start_time) / Double(AV_TIME_BASE) : 0
        return fileStart + d
    }

    /// Container format name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `image2`...).
    public var formatName: String { String(cString: context.pointee.iformat.pointee.name) }

    /// True for image files and image sequences (image2, png_pipe...).
    public var isImage: Bool {
        let name = formatName
        return name == "image2" || name.hasSuffix("_pipe")
    }

    /// Container duration in seconds, when known.
    public var durationSeconds: Double? {
        let d = context.pointee.duration
        return d > 0 && d != noTimestamp ? Double(d) / Double(AV_TIME_BASE) : nil
    }

    /// The main video stream: FFmpeg's best pick, skipping cover art (attached pictures).
    public func mainVideoStream() throws -> Int {
        let best = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        if best >= 0 && !isAttachedPicture(Int(best)) { return Int(best) }
        for i in 0..<streamCount where stream(i).pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
            && !isAttachedPicture(i) {
            return i
        }
        throw MediaInputError("no video stream")
    }

    public func isAttachedPicture(_ index: Int) -> Bool {
        (stream(index).pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0
    }

    public enum ReadResult { case packet, endOfFile, error(Int32) }

    /// Reads the next packet. Read errors other than EOF (damaged or truncated
    /// files) are reported so the caller can warn and finish what it has.
    public func read(into packet: Packet) -> ReadResult {
        packet.unref()
        let r = av_read_frame(context, packet.pointer)
        if r >= 0 { return .packet }
        if r == MediaError.endOfFile { return .endOfFile }
        return .error(r)
    }

    /// How many frames a stream should have.
    public struct FrameCount: Sendable {
        public var count: Int
        /// True when the container states it; false for an estimate from duration x frame rate
        /// (which is off for variable-frame-rate video).
        public var exact: Bool
        public init(count: Int, exact: Bool) {
            self.count = count
            self.exact = exact
        }
    }

    /// The frame rate of stream `index` as FFmpeg guesses it (container, codec and timing); 0/1
    /// or 1/0 when unknown.
    public func guessedFrameRate(stream index: Int) -> Rational { av_guess_frame_rate(context, stream(index), nil) }

    /// Number of video frames the container announces for a stream, or an estimate
    /// from duration x frame rate; nil when neither is known.
    public func expectedFrames(stream index: Int) -> FrameCount? {
        let st = stream(index)
        if st.pointee.nb_frames > 0 { return FrameCount(count: Int(st.pointee.nb_frames), exact: true) }
        let rate = av_guess_frame_rate(context, st, nil)
        guard rate.num > 0, rate.den > 0 else { return nil }
        var seconds: Double? = nil
        if st.pointee.duration > 0 && st.pointee.duration != noTimestamp {
            seconds = Double(st.pointee.duration) * av_q2d(st.pointee.time_base)
        } else {
            seconds = durationSeconds
        }
        guard let s = seconds else { return nil }
        return FrameCount(count: Int((s * av_q2d(rate)).rounded()), exact: false)
    }
}
