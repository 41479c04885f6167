import CFFmpeg
import CUpresShims

/// Decodes one video stream with the send/receive API, frame-threaded.
public final class VideoDecoder {
    public let context: UnsafeMutablePointer<AVCodecContext>
    public let streamIndex: Int
    /// The stream time base: decoded frame timestamps are in it.
    public let timeBase: AVRational
    public let codecName: String

    /// - Parameter threads: decoder threads, 0 = one per core.
    public init(input: InputFile, streamIndex: Int, threads: Int32 = 0) throws {
        let stream = input.stream(streamIndex)
        let par = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            let name = avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
            throw MediaInputError("no decoder for video codec '\(name)' in this FFmpeg build")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        context = ctx
        self.streamIndex = streamIndex
        timeBase = stream.pointee.time_base
        codecName = String(cString: codec.pointee.name)
        let where_ = "decoder \(codecName) for '\(input.path)' stream #\(streamIndex)"
        try avCheck(avcodec_parameters_to_context(ctx, par), "avcodec_parameters_to_context", where_)
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        ctx.pointee.thread_count = threads
        ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        ctx.pointee.framerate = av_guess_frame_rate(input.context, stream, nil)
        try avCheck(avcodec_open2(ctx, codec, nil), "avcodec_open2", "opening " + where_)
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }

    public enum SendResult { case accepted, full, rejected(Int32) }

    /// Sends a packet, or nil to start draining at end of stream.
    /// `.full` means frames must be received first; `.rejected` is a damaged packet.
    public func send(_ packet: Packet?) -> SendResult {
        let r = avcodec_send_packet(context, packet?.pointer)
        if r >= 0 { return .accepted }
        if r == MediaError.tryAgain { return .full }
        if r == MediaError.endOfFile { return .accepted }   // already draining
        return .rejected(r)
    }

    public enum ReceiveResult { case frame, needsInput, endOfStream, damaged(Int32) }

    public func receive(into frame: Frame) -> ReceiveResult {
        frame.unref()
        let r = avcodec_receive_frame(context, frame.pointer)
        if r >= 0 { return .frame }
        if r == MediaError.tryAgain { return .needsInput }
        if r == MediaError.endOfFile { return .endOfStream }
        return .damaged(r)
    }
}
