import CFFmpeg
import CMediaShims

/// Re-encodes one audio stream: decode, convert (`AudioFormatFilter`: rate, sample format,
/// channel layout and frame size the encoder takes), encode. For streams an output container
/// cannot hold as they are (AAC into WebM becomes Opus, PCM into MP4 becomes AAC).
///
///     let t = try AudioTranscoder(source: ist.codecpar, timeBase: ist.time_base, encoder: "libopus", globalHeader: true)
///     try t.parameters(into: ost.codecpar)
///     try t.send(packet) { try write($0) }   // packets in t.timeBase
///     try t.finish { try write($0) }
///
/// Damaged packets are counted (`undecodable`) and skipped, as the ffmpeg CLI does.
public final class AudioTranscoder {
    private let decoder: UnsafeMutablePointer<AVCodecContext>
    private let encoder: UnsafeMutablePointer<AVCodecContext>
    private var filter: AudioFormatFilter? = nil
    private let inputTimeBase: AVRational
    private let decoded = Frame(), converted = Frame(), packet = Packet()
    public let encoderName: String
    /// What the encoder takes (and the output stream holds).
    public let output: AudioFormat
    public private(set) var undecodable = 0
    private var finished = false

    init(source par: UnsafePointer<AVCodecParameters>, timeBase: AVRational, encoder name: String,
                globalHeader: Bool) throws {
        let sourceName = MediaNames.codec(par.pointee.codec_id)
        guard let dcodec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw MediaInputError("no decoder for audio codec '\(sourceName)' in this FFmpeg build")
        }
        guard let ecodec = avcodec_find_encoder_by_name(name), ecodec.pointee.type == AVMEDIA_TYPE_AUDIO else {
            throw MediaInputError("no audio encoder '\(name)' in this FFmpeg build")
        }
        guard let d = avcodec_alloc_context3(dcodec), let e = avcodec_alloc_context3(ecodec) else {
            fatalError("avcodec_alloc_context3: out of memory")
        }
        decoder = d
        encoder = e
        encoderName = name
        inputTimeBase = timeBase
        // (A throwing init still runs deinit, which frees both contexts.)
        try avCheck(avcodec_parameters_to_context(d, par), "avcodec_parameters_to_context", "audio decoder \(sourceName)")
        d.pointee.pkt_timebase = timeBase
        try avCheck(avcodec_open2(d, dcodec, nil), "avcodec_open2", "opening audio decoder \(sourceName)")

        var layout = par.pointee.ch_layout
        let rate = par.pointee.sample_rate > 0 ? par.pointee.sample_rate : 48000
        let source = AudioFormat(sampleRate: rate, sampleFormat: d.pointee.sample_fmt, layout: &layout)
        let chosen = Self.choose(for: ecodec, source: source)
        output = chosen.format
        e.pointee.sample_rate = output.sampleRate
        e.pointee.sample_fmt = output.sampleFormat
        if let l = chosen.encoderLayout {
            try avCheck(av_channel_layout_copy(&e.pointee.ch_layout, l), "av_channel_layout_copy", name)
        } else {
            try avCheck(av_channel_layout_from_string(&e.pointee.ch_layout, output.layout), "av_channel_layout_from_string", output.layout)
        }
        e.pointee.time_base = AVRational(num: 1, den: output.sampleRate)
        e.pointee.bit_rate = Self.bitRate(name, channels: output.channels)
        if globalHeader { upres_codec_set_global_header(e) }
        try avCheck(avcodec_open2(e, ecodec, nil), "avcodec_open2", "opening audio encoder \(name)")
    }

    deinit {
        var d: UnsafeMutablePointer<AVCodecContext>? = decoder, e: UnsafeMutablePointer<AVCodecContext>? = encoder
        avcodec_free_context(&d)
        avcodec_free_context(&e)
    }

    /// The time base of the packets this produces.
    public var timeBase: AVRational { encoder.pointee.time_base }

    /// The output stream's parameters (codec, rate, layout, extradata).
    func parameters(into par: UnsafeMutablePointer<AVCodecParameters>) throws {
        try avCheck(avcodec_parameters_from_context(par, encoder), "avcodec_parameters_from_context", "audio encoder \(encoderName)")
    }

    /// Decodes a packet of the source stream and hands every encoded packet that results to `emit`.
    public func send(_ source: Packet, emit: (Packet) throws -> Void) throws {
        if avcodec_send_packet(decoder, source.pointer) < 0 { undecodable += 1 }
        try drainDecoder(emit)
    }

    /// At the end: flushes the decoder, the filter and the encoder.
    public func finish(emit: (Packet) throws -> Void) throws {
        guard !finished else { return }
        finished = true
        _ = avcodec_send_packet(decoder, nil)
        try drainDecoder(emit)
        if let filter {
            try filter.push(nil)
            try drainFilter(filter, emit)
        }
        try avCheck(avcodec_send_frame(encoder, nil), "avcodec_send_frame", "audio encoder \(encoderName)")
        try drainEncoder(emit)
    }

    private func drainDecoder(_ emit: (Packet) throws -> Void) throws {
        while true {
            decoded.unref()
            let r = avcodec_receive_frame(decoder, decoded.pointer)
            if r == MediaError.tryAgain || r == MediaError.endOfFile { return }
            if r < 0 { undecodable += 1; return }
            decoded.pts = decoded.bestEffortTimestamp
            guard decoded.pointer.pointee.sample_rate > 0, decoded.pointer.pointee.ch_layout.nb_channels > 0 else {
                undecodable += 1
                continue
            }
            let format = AudioFormat(frame: decoded.pointer)
            if filter?.input != format {
                // A new layout or rate mid-stream (damaged or spliced input): a filter for it;
                // the samples the old one still held (less than a frame) are dropped.
                filter = try? AudioFormatFilter(input: format, timeBase: inputTimeBase, output: output,
                                                frameSize: fixedFrameSize)
            }
            guard let filter else {
                undecodable += 1   // a format no filter takes (damage): skipped
                continue
            }
            try filter.push(decoded)
            try drainFilter(filter, emit)
        }
    }

    /// The encoder's frame size when every frame must have it (0: any size).
    private var fixedFrameSize: Int32 {
        (encoder.pointee.codec.pointee.capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0 ? 0 : encoder.pointee.frame_size
    }

    private func drainFilter(_ filter: AudioFormatFilter, _ emit: (Packet) throws -> Void) throws {
        while try filter.pull(into: converted) {
            if converted.pts != noTimestamp {
                converted.pts = av_rescale_q(converted.pts, filter.outputTimeBase, encoder.pointee.time_base)
            }
            let frame = try padded(converted)
            try avCheck(avcodec_send_frame(encoder, frame.pointer), "avcodec_send_frame", "audio encoder \(encoderName)")
            try drainEncoder(emit)
        }
    }

    /// Encoders without AV_CODEC_CAP_SMALL_LAST_FRAME need a full last frame: silence fills it.
    private func padded(_ frame: Frame) throws -> Frame {
        let size = fixedFrameSize, n = frame.pointer.pointee.nb_samples
        guard size > 0, n < size, (encoder.pointee.codec.pointee.capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) == 0 else { return frame }
        let full = Frame()
        let f = full.pointer
        f.pointee.format = frame.pointer.pointee.format
        f.pointee.sample_rate = frame.pointer.pointee.sample_rate
        f.pointee.nb_samples = size
        try avCheck(av_channel_layout_copy(&f.pointee.ch_layout, &frame.pointer.pointee.ch_layout), "av_channel_layout_copy", "padding")
        try avCheck(av_frame_get_buffer(f, 0), "av_frame_get_buffer", "padding the last audio frame")
        let channels = f.pointee.ch_layout.nb_channels, format = AVSampleFormat(rawValue: f.pointee.format)
        av_samples_copy(f.pointee.extended_data, frame.pointer.pointee.extended_data, 0, 0, n, channels, format)
        av_samples_set_silence(f.pointee.extended_data, n, size - n, channels, format)
        f.pointee.pts = frame.pts
        return full
    }

    private func drainEncoder(_ emit: (Packet) throws -> Void) throws {
        while true {
            packet.unref()
            let r = avcodec_receive_packet(encoder, packet.pointer)
            if r == MediaError.tryAgain || r == MediaError.endOfFile { return }
            try avCheck(r, "avcodec_receive_packet", "audio encoder \(encoderName)")
            try emit(packet)
        }
    }

    // MARK: - What the encoder takes

    /// The encoder's sample format, rate and layout closest to the source's; `encoderLayout` is
    /// nil when the source's layout is taken (one of the encoder's static list otherwise).
    static func choose(for codec: UnsafePointer<AVCodec>, source: AudioFormat)
        -> (format: AudioFormat, encoderLayout: UnsafePointer<AVChannelLayout>?) {
        // Sample format: the source's, else its packed/planar twin, else one of the same kind
        // (float or integer), else the first.
        var formats: [AVSampleFormat] = []
        if var p = codec.pointee.sample_fmts { while p.pointee != AV_SAMPLE_FMT_NONE { formats.append(p.pointee); p += 1 } }
        let packed = av_get_packed_sample_fmt(source.sampleFormat)
        let isFloat = { (f: AVSampleFormat) in [AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_DBL].contains(av_get_packed_sample_fmt(f)) }
        let sampleFormat = formats.isEmpty || formats.contains(source.sampleFormat) ? source.sampleFormat
            : formats.first { av_get_packed_sample_fmt($0) == packed } ?? formats.first { isFloat($0) == isFloat(packed) }
            ?? formats[0]
        // Rate: the source's, else the lowest above it, else the highest.
        var rates: [Int32] = []
        if var p = codec.pointee.supported_samplerates { while p.pointee != 0 { rates.append(p.pointee); p += 1 } }
        let rate = rates.isEmpty || rates.contains(source.sampleRate) ? source.sampleRate
            : rates.filter { $0 > source.sampleRate }.min() ?? rates.max()!
        // Layout: the source's, else the encoder's with the most channels up to the source's.
        var layouts: [UnsafePointer<AVChannelLayout>] = []
        if var p = codec.pointee.ch_layouts { while p.pointee.nb_channels != 0 { layouts.append(p); p += 1 } }
        var sourceLayout = AVChannelLayout()
        if av_channel_layout_from_string(&sourceLayout, source.layout) < 0 { av_channel_layout_default(&sourceLayout, source.channels) }
        defer { av_channel_layout_uninit(&sourceLayout) }
        if layouts.isEmpty || layouts.contains(where: { av_channel_layout_compare($0, &sourceLayout) == 0 }) {
            return (AudioFormat(sampleRate: rate, sampleFormat: sampleFormat, layout: &sourceLayout), nil)
        }
        let layout = layouts.filter { $0.pointee.nb_channels <= source.channels }.max { $0.pointee.nb_channels < $1.pointee.nb_channels }
            ?? layouts.min { $0.pointee.nb_channels < $1.pointee.nb_channels }!
        return (AudioFormat(sampleRate: rate, sampleFormat: sampleFormat, layout: layout), layout)
    }

    /// A bitrate that keeps speech and music clean, per channel (capped where the codec caps it).
    static func bitRate(_ encoder: String, channels: Int32) -> Int64 {
        let n = Int64(max(1, channels))
        switch encoder {
        case "libopus": return min(48_000 * n, 512_000)
        case "aac": return min(64_000 * n, 512_000)
        case "libvorbis": return min(64_000 * n, 500_000)
        case "mp2": return min(96_000 * n, 384_000)
        case "ac3": return min(96_000 * n, 640_000)
        default: return 0   // lossless or the encoder's default
        }
    }
}
