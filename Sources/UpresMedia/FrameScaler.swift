import CFFmpeg
import CMediaShims

/// The interpolation kernel of a classical (swscale) resize.
public enum ScaleFilter: String, CaseIterable, Sendable {
    case lanczos, bicubic, bilinear, point

    var swsFlag: Int32 {
        switch self {
        case .lanczos: return SWS_LANCZOS
        case .bicubic: return SWS_BICUBIC
        case .bilinear: return SWS_BILINEAR
        case .point: return SWS_POINT
        }
    }
}

/// A configured swscale conversion: size and/or pixel format, with the YUV matrix,
/// range and chroma siting stated explicitly (never swscale's BT.601 default).
public final class FrameScaler {
    private let context: OpaquePointer
    public let source: VideoFormat
    public let destination: VideoFormat

    /// - Parameter threads: slice threads inside swscale (0 = automatic).
    public init(from source: VideoFormat, to destination: VideoFormat, filter: ScaleFilter, threads: Int32 = 1) throws {
        self.source = source
        self.destination = destination
        guard let ctx = sws_alloc_context() else { fatalError("sws_alloc_context: out of memory") }
        context = ctx
        let raw = UnsafeMutableRawPointer(ctx)
        func set(_ name: String, _ value: Int64) { av_opt_set_int(raw, name, value, 0) }
        set("srcw", Int64(source.width))
        set("srch", Int64(source.height))
        set("src_format", Int64(source.pixelFormat.rawValue))
        set("dstw", Int64(destination.width))
        set("dsth", Int64(destination.height))
        set("dst_format", Int64(destination.pixelFormat.rawValue))
        set("sws_flags", Int64(filter.swsFlag | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP))
        set("threads", Int64(threads))
        let srcFull = FrameScaler.isFullRange(source)
        let dstFull = FrameScaler.isFullRange(destination)
        set("src_range", srcFull ? 1 : 0)
        set("dst_range", dstFull ? 1 : 0)
        // Chroma siting in 1/256 luma pixels, when the stream states it.
        var x: Int32 = 0, y: Int32 = 0
        if source.colour.chromaLocation != AVCHROMA_LOC_UNSPECIFIED,
           avcodec_enum_to_chroma_pos(&x, &y, source.colour.chromaLocation) == 0 {
            set("src_h_chr_pos", Int64(x))
            set("src_v_chr_pos", Int64(y))
        }
        if destination.colour.chromaLocation != AVCHROMA_LOC_UNSPECIFIED,
           avcodec_enum_to_chroma_pos(&x, &y, destination.colour.chromaLocation) == 0 {
            set("dst_h_chr_pos", Int64(x))
            set("dst_v_chr_pos", Int64(y))
        }
        let initialised = sws_init_context(ctx, nil, nil)
        if initialised < 0 {   // deinit frees the context
            throw MediaError(code: initialised, function: "sws_init_context",
                             context: "scaling \(source.width)x\(source.height) \(PixelFormat.name(source.pixelFormat)) to "
                                 + "\(destination.width)x\(destination.height) \(PixelFormat.name(destination.pixelFormat))")
        }
        // Explicit matrix and range for any YUV<->RGB step. Only there: on YUV->YUV it moves
        // swscale onto a path that brightened luma by ~0.7 code values at 8 bits (measured against
        // ffmpeg's own scale filter on H.264 footage, which matched the ground truth within 0.05);
        // the range options above already cover YUV->YUV.
        if PixelFormat.isRGB(source.pixelFormat) != PixelFormat.isRGB(destination.pixelFormat) {
            let srcMatrix = sws_getCoefficients(Int32(source.colour.effectiveMatrix(height: source.height).rawValue))
            let dstMatrix = sws_getCoefficients(Int32(destination.colour.effectiveMatrix(height: destination.height).rawValue))
            _ = sws_setColorspaceDetails(ctx, srcMatrix, srcFull ? 1 : 0, dstMatrix, dstFull ? 1 : 0, 0, 1 << 16, 1 << 16)
        }
    }

    deinit { sws_freeContext(context) }

    private static func isFullRange(_ f: VideoFormat) -> Bool {
        PixelFormat.isRGB(f.pixelFormat) || PixelFormat.isFullRangeJPEG(f.pixelFormat) || f.colour.isFullRange
            || PixelFormat.name(f.pixelFormat).hasPrefix("gray") && f.colour.range != AVCOL_RANGE_MPEG
    }

    /// Scales `source` into `destination`, which must have the destination format's size and pixel format.
    public func scale(_ source: Frame, into destination: Frame) throws {
        try avCheck(sws_scale_frame(context, destination.pointer, source.pointer), "sws_scale_frame",
                  "scaling to \(self.destination.width)x\(self.destination.height)")
    }
}
