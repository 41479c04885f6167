import CFFmpeg
import CMediaShims

/// Decodes one video stream with the send/receive API, frame-threaded.
public final class VideoDecoder {
    let context: UnsafeMutablePointer<AVCodecContext>
    public let streamIndex: Int
    /// The stream time base: decoded frame timestamps are in it.
    public let timeBase: AVRational
    public let codecName: String

    /// - Parameters:
    ///   - threads: decoder threads, 0 = one per core.
    ///   - decoderName: a decoder to use instead of FFmpeg's default for the codec (e.g.
    ///     `libvpx-vp9`, the one that decodes VP9's alpha channel).
    public init(input: InputFile, streamIndex: Int, threads: Int32 = 0, decoderName: String? = nil) throws {
        let stream = input.stream(streamIndex)
        let par = stream.pointee.codecpar!
        let chosen = decoderName.flatMap { avcodec_find_decoder_by_name($0) } ?? avcodec_find_decoder(par.pointee.codec_id)
        guard let codec = chosen else {
            let name = MediaNames.codec(par.pointee.codec_id)
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

    /// The decoder that decodes a stream's alpha channel where FFmpeg's default one drops it:
    /// VP8/VP9 in WebM/Matroska with `alpha_mode` set carry alpha in block additions that only
    /// libvpx decodes. nil when the default decoder is right (or libvpx is not in this build).
    public static func alphaDecoder(input: InputFile, streamIndex: Int) -> String? {
        let st = input.stream(streamIndex)
        guard let tag = av_dict_get(st.pointee.metadata, "alpha_mode", nil, 0),
              String(cString: tag.pointee.value) == "1" else { return nil }
        let id = st.pointee.codecpar.pointee.codec_id
        let name = id == AV_CODEC_ID_VP9 ? "libvpx-vp9" : id == AV_CODEC_ID_VP8 ? "libvpx" : nil
        guard let name, avcodec_find_decoder_by_name(name) != nil else { return nil }
        return name
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
