import CFFmpeg
import CMediaShims

/// Re-encodes one text subtitle stream (SubRip, ASS, WebVTT, mov_text...) into another text
/// format, through libavcodec's subtitle API (`avcodec_decode_subtitle2` ->
/// `avcodec_encode_subtitle`, ASS events in between), timed as the ffmpeg CLI times them. For
/// streams an output container cannot hold as they are (SRT into MP4 becomes mov_text, into
/// WebM WebVTT). Bitmap subtitles cannot become text: `isText` says which are convertible.
///
///     let t = try SubtitleTranscoder(source: ist.codecpar, timeBase: ist.time_base, encoder: "mov_text")
///     try t.parameters(into: ost.codecpar)
///     try t.send(packet) { try write($0) }   // packets in t.timeBase
public final class SubtitleTranscoder {
    private let decoder: UnsafeMutablePointer<AVCodecContext>
    private let encoder: UnsafeMutablePointer<AVCodecContext>
    private let packet = Packet()
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)   // ffmpeg's subtitle_out_max_size
    public let encoderName: String
    /// Packets that did not decode or encode (damaged), and cues without a time: skipped.
    public private(set) var undecodable = 0

    /// Whether a subtitle codec is text (convertible to another text format).
    public static func isText(_ id: AVCodecID) -> Bool {
        guard let d = avcodec_descriptor_get(id) else { return false }
        return (d.pointee.props & AV_CODEC_PROP_TEXT_SUB) != 0
    }

    init(source par: UnsafePointer<AVCodecParameters>, timeBase: AVRational, encoder name: String) throws {
        let sourceName = MediaNames.codec(par.pointee.codec_id)
        guard let dcodec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw MediaInputError("no decoder for subtitle codec '\(sourceName)' in this FFmpeg build")
        }
        guard let ecodec = avcodec_find_encoder_by_name(name), ecodec.pointee.type == AVMEDIA_TYPE_SUBTITLE else {
            throw MediaInputError("no subtitle encoder '\(name)' in this FFmpeg build")
        }
        guard let d = avcodec_alloc_context3(dcodec), let e = avcodec_alloc_context3(ecodec) else {
            fatalError("avcodec_alloc_context3: out of memory")
        }
        decoder = d
        encoder = e
        encoderName = name
        // (A throwing init still runs deinit, which frees both contexts.)
        try avCheck(avcodec_parameters_to_context(d, par), "avcodec_parameters_to_context", "subtitle decoder \(sourceName)")
        d.pointee.pkt_timebase = timeBase
        try avCheck(avcodec_open2(d, dcodec, nil), "avcodec_open2", "opening subtitle decoder \(sourceName)")
        // The encoder reads the styles of the ASS header the decoder wrote (as ffmpeg hands it over).
        if let header = d.pointee.subtitle_header, d.pointee.subtitle_header_size > 0 {
            let size = Int(d.pointee.subtitle_header_size)
            guard let copy = av_mallocz(size + 1) else { fatalError("av_mallocz: out of memory") }
            copy.copyMemory(from: header, byteCount: size)
            e.pointee.subtitle_header = copy.assumingMemoryBound(to: UInt8.self)
            e.pointee.subtitle_header_size = Int32(size)
        }
        e.pointee.time_base = upres_av_time_base_q()
        e.pointee.width = par.pointee.width
        e.pointee.height = par.pointee.height
        try avCheck(avcodec_open2(e, ecodec, nil), "avcodec_open2", "opening subtitle encoder \(name)")
    }

    deinit {
        var d: UnsafeMutablePointer<AVCodecContext>? = decoder, e: UnsafeMutablePointer<AVCodecContext>? = encoder
        avcodec_free_context(&d)
        avcodec_free_context(&e)
    }

    /// The time base of the packets this produces (microseconds).
    public var timeBase: AVRational { upres_av_time_base_q() }

    func parameters(into par: UnsafeMutablePointer<AVCodecParameters>) throws {
        try avCheck(avcodec_parameters_from_context(par, encoder), "avcodec_parameters_from_context", "subtitle encoder \(encoderName)")
    }

    /// Decodes a packet of the source stream; a cue that comes out is encoded and handed to `emit`.
    public func send(_ source: Packet, emit: (Packet) throws -> Void) throws {
        var sub = AVSubtitle()
        var got: Int32 = 0
        if avcodec_decode_subtitle2(decoder, &sub, &got, source.pointer) < 0 {
            undecodable += 1
            return
        }
        guard got != 0 else { return }
        defer { avsubtitle_free(&sub) }
        // An empty event (a "clear" sample) carries no cue: the muxer fills gaps itself.
        guard sub.num_rects > 0 else { return }
        guard sub.pts != noTimestamp else { undecodable += 1; return }
        // As ffmpeg's do_subtitle_out: the start offset moves into pts, the end becomes the duration.
        let ms = AVRational(num: 1, den: 1000)
        let pts = sub.pts + av_rescale_q(Int64(sub.start_display_time), ms, timeBase)
        sub.end_display_time = sub.end_display_time >= sub.start_display_time ? sub.end_display_time - sub.start_display_time : 0
        sub.start_display_time = 0
        let size = buffer.withUnsafeMutableBufferPointer {
            avcodec_encode_subtitle(encoder, $0.baseAddress, Int32($0.count), &sub)
        }
        guard size > 0 else {
            if size < 0 { undecodable += 1 }
            return
        }
        packet.unref()
        try avCheck(av_new_packet(packet.pointer, size), "av_new_packet", "subtitle encoder \(encoderName)")
        buffer.withUnsafeBufferPointer { packet.pointer.pointee.data.update(from: $0.baseAddress!, count: Int(size)) }
        packet.pointer.pointee.pts = pts
        packet.pointer.pointee.dts = pts
        packet.pointer.pointee.duration = av_rescale_q(Int64(sub.end_display_time), ms, timeBase)
        packet.pointer.pointee.flags |= AV_PKT_FLAG_KEY
        try emit(packet)
    }
}
