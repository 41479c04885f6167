import CFFmpeg
import CMediaShims

/// A muxed output file. Streams are added, then `writeHeader`, packets, `finish`.
public final class OutputFile {
    public let path: String
    let context: UnsafeMutablePointer<AVFormatContext>
    private var headerWritten = false
    private var finished = false

    /// - Parameters:
    ///   - path: where to write (may be a temporary name).
    ///   - format: the muxer, chosen from the final file name by `OutputFile.muxer(for:)`.
    init(path: String, format: UnsafePointer<AVOutputFormat>) throws {
        self.path = path
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try avCheck(avformat_alloc_output_context2(&ctx, format, nil, path), "avformat_alloc_output_context2",
                  "creating '\(path)'")
        context = ctx!
    }

    /// A file for the container `encoding` chose (`EncoderSetup`).
    public convenience init(path: String, encoding: EncoderSetup) throws {
        try self.init(path: path, format: encoding.muxer)
    }

    deinit {
        if headerWritten && !finished { av_write_trailer(context) }
        if upres_format_is_nofile(context) == 0 && context.pointee.pb != nil { avio_closep(&context.pointee.pb) }
        avformat_free_context(context)
    }

    /// The muxer FFmpeg would pick for a file name (by extension), or nil.
    static func muxer(for fileName: String) -> UnsafePointer<AVOutputFormat>? {
        av_guess_format(nil, fileName, nil)
    }

    /// Whether FFmpeg has a muxer for a file name's extension.
    public static func hasMuxer(for fileName: String) -> Bool { muxer(for: fileName) != nil }

    var format: UnsafePointer<AVOutputFormat> { context.pointee.oformat }
    public var formatName: String { String(cString: format.pointee.name) }
    public var needsGlobalHeader: Bool { upres_format_needs_global_header(context) != 0 }
    public var isImageMuxer: Bool { upres_format_is_image2(context) != 0 }

    /// Whether the container can store a codec: true, false, or nil when the muxer does not say.
    public func canHold(codec id: AVCodecID) -> Bool? {
        let r = avformat_query_codec(format, id, FF_COMPLIANCE_NORMAL)
        if r == 1 { return true }
        if r == 0 { return false }
        return nil
    }

    func addStream() -> UnsafeMutablePointer<AVStream> {
        guard let st = avformat_new_stream(context, nil) else { fatalError("avformat_new_stream: out of memory") }
        return st
    }

    func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { context.pointee.streams[index]! }
    /// The time base of output stream `index` (the muxer's choice, after the header).
    public func timeBase(stream index: Int) -> Rational { stream(index).pointee.time_base }

    /// Opens the file and writes the container header. Stream time bases may change here
    /// (MP4 picks its own): read them back afterwards.
    public func writeHeader(options: [(String, String)] = []) throws {
        if upres_format_is_nofile(context) == 0 {
            let status = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
            if status < 0 { throw OutputCreateError(path: path, cause: MediaError(code: status, function: "avio_open", context: "creating '\(path)'")) }
        }
        var dict: OpaquePointer? = nil
        defer { av_dict_free(&dict) }
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        try avCheck(avformat_write_header(context, &dict), "avformat_write_header", "writing the header of '\(path)'")
        headerWritten = true
    }

    /// Writes a packet whose timestamps are already in the output stream's time base.
    public func write(_ packet: Packet) throws {
        try avCheck(av_interleaved_write_frame(context, packet.pointer), "av_interleaved_write_frame",
                  "writing to '\(path)'")
    }

    /// Writes the trailer and closes the file.
    public func finish() throws {
        finished = true
        try avCheck(av_write_trailer(context), "av_write_trailer", "finishing '\(path)'")
        if upres_format_is_nofile(context) == 0 {
            try avCheck(avio_closep(&context.pointee.pb), "avio_closep", "closing '\(path)'")
        }
    }

    /// Bytes written so far.
    public var bytesWritten: Int64 {
        guard let pb = context.pointee.pb else { return 0 }
        return avio_tell(pb)
    }
}
