import CFFmpeg

/// Facts about pixel formats from `AVPixFmtDescriptor`, and the formats upres names itself.
public enum PixelFormat {
    /// Packed 8-bit RGB (pictures, previews, contact sheets).
    public static let rgb24 = AV_PIX_FMT_RGB24
    /// Packed 8-bit RGB with alpha.
    public static let rgba = AV_PIX_FMT_RGBA
    /// 8-bit grey.
    public static let gray8 = AV_PIX_FMT_GRAY8

    /// Whether swscale can write the format (not palettes, for example).
    public static func isScalerOutput(_ format: AVPixelFormat) -> Bool { sws_isSupportedOutput(format) > 0 }

    /// Planes of the format (3 for yuv420p, 4 for yuva420p, 1 for rgb24).
    public static func planeCount(_ format: AVPixelFormat) -> Int { Int(av_pix_fmt_count_planes(format)) }

    public static func name(_ format: AVPixelFormat) -> String {
        guard let cName = av_get_pix_fmt_name(format) else { return "none" }
        return String(cString: cName)
    }

    /// Parses a name such as `yuv420p10le`; nil when FFmpeg does not know it.
    public static func named(_ name: String) -> AVPixelFormat? {
        let format = av_get_pix_fmt(name)
        return format == AV_PIX_FMT_NONE ? nil : format
    }

    /// Bits per component of the first component (8 for yuv420p, 10 for yuv420p10le).
    public static func bitDepth(_ format: AVPixelFormat) -> Int {
        guard let d = av_pix_fmt_desc_get(format) else { return 8 }
        return Int(d.pointee.comp.0.depth)
    }

    /// RGB formats, and palettes (whose entries are RGB: swscale converts them as RGB).
    public static func isRGB(_ format: AVPixelFormat) -> Bool {
        guard let d = av_pix_fmt_desc_get(format) else { return false }
        return (d.pointee.flags & (UInt64(AV_PIX_FMT_FLAG_RGB) | UInt64(AV_PIX_FMT_FLAG_PAL))) != 0
    }

    /// log2 of the chroma subsampling (1,1 for 4:2:0; 1,0 for 4:2:2; 0,0 for 4:4:4 and RGB).
    public static func chromaShift(_ format: AVPixelFormat) -> (x: Int, y: Int) {
        guard let d = av_pix_fmt_desc_get(format) else { return (0, 0) }
        return (Int(d.pointee.log2_chroma_w), Int(d.pointee.log2_chroma_h))
    }

    /// Full-range "J" formats (yuvj420p...) used by JPEG.
    public static func isFullRangeJPEG(_ format: AVPixelFormat) -> Bool {
        [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUVJ411P]
            .contains(format)
    }
}
