import CFFmpeg
import CMediaShims

/// What the user chose for encoding.
public struct EncoderSettings: Sendable {
    /// Encoder name (`libx264`, `libx265`, `libvpx-vp9`, `libsvtav1`, `ffv1`, `png`...); nil = container default.
    public var codec: String?
    public var crf: Int?
    public var preset: String?
    /// Output pixel format; nil = the source's if the encoder takes it, else the closest one.
    public var pixelFormat: String?
    /// Extra private options passed to the encoder (`--encoder-opt key=value`).
    public var options: [(key: String, value: String)]
    /// Encoder threads, 0 = automatic.
    public var threads: Int32
    /// Keep x265's and SVT-AV1's own banners off stderr (they bypass av_log).
    public var quietLibraryLogs: Bool = true

    public init(codec: String? = nil, crf: Int? = nil, preset: String? = nil, pixelFormat: String? = nil,
                options: [(key: String, value: String)] = [], threads: Int32 = 0) {
        self.codec = codec
        self.crf = crf
        self.preset = preset
        self.pixelFormat = pixelFormat
        self.options = options
        self.threads = threads
    }
}

/// Finds encoders and the pixel formats they take.
public enum EncoderCatalog {
    static func find(_ name: String) -> UnsafePointer<AVCodec>? {
        guard let c = avcodec_find_encoder_by_name(name), c.pointee.type == AVMEDIA_TYPE_VIDEO else { return nil }
        return c
    }

    static func pixelFormats(of codec: UnsafePointer<AVCodec>) -> [AVPixelFormat] {
        guard var p = upres_codec_pix_fmts(codec) else { return [] }
        var list: [AVPixelFormat] = []
        while p.pointee != AV_PIX_FMT_NONE { list.append(p.pointee); p += 1 }
        return list
    }

    /// The source format if the encoder takes it, else FFmpeg's least-lossy choice
    /// (which keeps bit depth where the encoder allows it).
    static func bestPixelFormat(for codec: UnsafePointer<AVCodec>, source: AVPixelFormat) -> AVPixelFormat {
        let list = pixelFormats(of: codec)
        if list.isEmpty || list.contains(source) { return source }
        return list.withUnsafeBufferPointer { buf -> AVPixelFormat in
            var terminated = Array(buf) + [AV_PIX_FMT_NONE]
            return terminated.withUnsafeMutableBufferPointer {
                // has_alpha: losing the source's alpha counts as a loss (YUVA WebP into PNG -> RGBA).
                let alpha = av_pix_fmt_desc_get(source).map { $0.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0 } ?? false
                return avcodec_find_best_pix_fmt_of_list($0.baseAddress, source, alpha ? 1 : 0, nil)
            }
        }
    }

    /// Video encoders this FFmpeg build has, among the ones upres documents.
    public static var knownAvailable: [String] {
        ["libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1", "ffv1", "png", "mjpeg"]
            .filter { find($0) != nil }
    }
}

/// Encodes video frames (send/receive API) for one output stream.
public final class VideoEncoder {
    let context: UnsafeMutablePointer<AVCodecContext>
    public let codecName: String

    /// Configures and opens the encoder.
    /// - Parameters:
    ///   - format: size, pixel format, aspect, colour and field order of the frames to encode.
    ///   - timeBase: time base of the frame timestamps (the source stream's, so pts pass through).
    ///   - frameRate: nominal frame rate (a hint for rate control; timestamps rule).
    ///   - globalHeader: set when the container wants codec headers out of band.
    /// The encoder `encoding` chose, with its container's header placement.
    public convenience init(encoding: EncoderSetup, format: VideoFormat, timeBase: AVRational, frameRate: AVRational,
                            settings: EncoderSettings, context where_: String) throws {
        try self.init(codec: encoding.codec, format: format, timeBase: timeBase, frameRate: frameRate, settings: settings,
                      globalHeader: encoding.needsGlobalHeader, context: where_)
    }

    init(codec: UnsafePointer<AVCodec>, format: VideoFormat, timeBase: AVRational, frameRate: AVRational,
                settings: EncoderSettings, globalHeader: Bool, context where_: String) throws {
        guard let ctx = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        context = ctx
        codecName = String(cString: codec.pointee.name)
        ctx.pointee.width = format.width
        ctx.pointee.height = format.height
        ctx.pointee.pix_fmt = format.pixelFormat
        ctx.pointee.sample_aspect_ratio = format.sampleAspectRatio
        ctx.pointee.time_base = timeBase
        if frameRate.num > 0 && frameRate.den > 0 { ctx.pointee.framerate = frameRate }
        ctx.pointee.color_primaries = format.colour.primaries
        ctx.pointee.color_trc = format.colour.transfer
        ctx.pointee.colorspace = format.colour.matrix
        ctx.pointee.color_range = format.colour.range
        ctx.pointee.chroma_sample_location = format.colour.chromaLocation
        ctx.pointee.field_order = format.fieldOrder
        ctx.pointee.thread_count = settings.threads
        if globalHeader { upres_codec_set_global_header(ctx) }

        var options: OpaquePointer? = nil
        defer { av_dict_free(&options) }
        if let crf = settings.crf {
            if codecName == "libvpx-vp9" || codecName == "libaom-av1" {
                // Constant quality for VP9/AV1 needs a zero target bitrate.
                ctx.pointee.bit_rate = 0
            }
            av_dict_set(&options, "crf", String(crf), 0)
        }
        if let preset = settings.preset { av_dict_set(&options, "preset", preset, 0) }
        for (key, value) in settings.options { av_dict_set(&options, key, value, 0) }
        if settings.quietLibraryLogs {
            if codecName == "libx265" {
                let given = av_dict_get(options, "x265-params", nil, 0).map { String(cString: $0.pointee.value) }
                av_dict_set(&options, "x265-params", given.map { "log-level=error:" + $0 } ?? "log-level=error", 0)
            }
            if codecName == "libsvtav1" { setenv("SVT_LOG", "1", 0) }
        }
        let opened = avcodec_open2(ctx, codec, &options)
        // (A throwing init still runs deinit, which frees the context.)
        if opened < 0 {
            throw MediaError(code: opened, function: "avcodec_open2", context: "opening encoder \(codecName) for \(where_)")
        }
        // Options nobody consumed are typos or options of another encoder: refuse them.
        if let left = av_dict_get(options, "", nil, AV_DICT_IGNORE_SUFFIX) {
            let key = String(cString: left.pointee.key)
            throw MediaInputError("encoder \(codecName) has no option '\(key)'")
        }
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVCodecContext>? = context
        avcodec_free_context(&ctx)
    }

    public var timeBase: AVRational { context.pointee.time_base }

    /// Sets an output stream's codec parameters and time base to this encoder's.
    func configure(_ stream: UnsafeMutablePointer<AVStream>) throws {
        try avCheck(avcodec_parameters_from_context(stream.pointee.codecpar, context), "avcodec_parameters_from_context", "video stream")
        stream.pointee.time_base = timeBase
    }

    /// Sends a frame, or nil to flush at end of stream.
    public func send(_ frame: Frame?) throws {
        try avCheck(avcodec_send_frame(context, frame?.pointer), "avcodec_send_frame", "encoder \(codecName)")
    }

    public enum ReceiveResult { case packet, needsInput, endOfStream }

    public func receive(into packet: Packet) throws -> ReceiveResult {
        packet.unref()
        let r = avcodec_receive_packet(context, packet.pointer)
        if r >= 0 { return .packet }
        if r == MediaError.tryAgain { return .needsInput }
        if r == MediaError.endOfFile { return .endOfStream }
        throw MediaError(code: r, function: "avcodec_receive_packet", context: "encoder \(codecName)")
    }
}
