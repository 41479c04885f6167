import CFFmpeg

/// The pixel format an SR network runs in, and the conversions in and out of it.
///
/// The tile pipeline reads luma from plane 0 (8-bit, or 9- to 16-bit little-endian in the low
/// bits) and, for RGB networks, three planar YUV planes; a YUVA source's alpha (plane 3) is
/// scaled with Lanczos beside the chroma. Every other source (packed or planar RGB, RGBA,
/// 16-bit RGB, palettes, packed grey+alpha, big-endian or MSB-aligned samples, float) is
/// converted once per frame into a 16-bit 4:4:4 working format and converted back by the
/// encode stage:
///
/// - RGB sources whose encoder takes YUV: the output's own matrix and range (so the only
///   conversion is the one the output is tagged with);
/// - RGB sources whose encoder takes RGB: BT.601 (SMPTE 170M) limited range, the luma
///   definition the networks were trained on.
///
/// 16 bits per sample makes the round trip exact for 8- to 12-bit RGB: RGB -> working ->
/// RGB gives back the same code values (tested); 16-bit RGB comes back within one code value.
public enum WorkingFormat {
    /// Whether the tile pipeline reads frames of `format` as they are.
    public static func networkReadsDirectly(_ format: AVPixelFormat, rgbModel: Bool) -> Bool {
        guard let d = av_pix_fmt_desc_get(format) else { return false }
        let flags = d.pointee.flags
        let unsupported = UInt64(AV_PIX_FMT_FLAG_RGB) | UInt64(AV_PIX_FMT_FLAG_PAL) | UInt64(AV_PIX_FMT_FLAG_BITSTREAM)
            | UInt64(AV_PIX_FMT_FLAG_FLOAT) | UInt64(AV_PIX_FMT_FLAG_HWACCEL) | UInt64(AV_PIX_FMT_FLAG_BAYER)
        if flags & unsupported != 0 { return false }
        let depth = Int(d.pointee.comp.0.depth)
        if depth > 16 { return false }
        if depth > 8 && flags & UInt64(AV_PIX_FMT_FLAG_BE) != 0 { return false }
        // Luma alone in plane 0, in the low bits, one sample per step.
        let y = d.pointee.comp.0
        if y.plane != 0 || y.offset != 0 || y.shift != 0 || Int(y.step) != (depth > 8 ? 2 : 1) { return false }
        let components = Int(d.pointee.nb_components)
        let hasAlpha = flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
        let planar = flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0
        if components == 1 { return !rgbModel }
        // Alpha is kept only as a plane of its own (yuva*), scaled beside the chroma.
        if hasAlpha && !(planar && components == 4) { return false }
        if rgbModel { return planar && av_pix_fmt_count_planes(format) >= 3 }
        return true
    }

    /// The format the network runs in for `source` (the source itself when it reads directly).
    /// `encode` is the encoder's format with its colour description.
    /// A source the network reads directly is worked on as it is, unless the encoder takes the
    /// same layout at a greater depth (8-bit source, `--pix-fmt yuv420p10le`): then at the
    /// encoder's depth, so the network's output is rounded once, to the output's precision, not
    /// first to the source's depth and then scaled up.
    public static func plan(source: VideoFormat, encode: VideoFormat, rgbModel: Bool) -> VideoFormat {
        if networkReadsDirectly(source.pixelFormat, rgbModel: rgbModel) {
            guard deeper(encode.pixelFormat, than: source.pixelFormat),
                  networkReadsDirectly(encode.pixelFormat, rgbModel: rgbModel) else { return source }
            var working = source
            working.pixelFormat = encode.pixelFormat
            return working
        }
        var working = source
        let alpha = hasAlpha(source.pixelFormat)
        let grey = isGrey(source.pixelFormat)
        if grey && !alpha && !rgbModel {
            working.pixelFormat = AV_PIX_FMT_GRAY16LE
        } else {
            working.pixelFormat = alpha ? AV_PIX_FMT_YUVA444P16LE : AV_PIX_FMT_YUV444P16LE
        }
        working.colour.chromaLocation = AVCHROMA_LOC_UNSPECIFIED
        if PixelFormat.isRGB(source.pixelFormat) || isPalette(source.pixelFormat) {
            if PixelFormat.isRGB(encode.pixelFormat) || isGrey(encode.pixelFormat) {
                working.colour.matrix = AVCOL_SPC_SMPTE170M
                working.colour.range = AVCOL_RANGE_MPEG
            } else {
                working.colour.matrix = encode.colour.effectiveMatrix(height: encode.height)
                working.colour.range = encode.colour.isFullRange || PixelFormat.isFullRangeJPEG(encode.pixelFormat)
                    ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
            }
        } else if grey && working.colour.range == AVCOL_RANGE_UNSPECIFIED {
            // Untagged grey is full range (PNG, TIFF); say so, so the working copy keeps it.
            working.colour.range = AVCOL_RANGE_JPEG
        }
        return working
    }

    /// `a` has the planes, chroma subsampling and alpha of `b` at a greater bit depth (neither
    /// RGB nor full-range "J").
    public static func deeper(_ a: AVPixelFormat, than b: AVPixelFormat) -> Bool {
        PixelFormat.bitDepth(a) > PixelFormat.bitDepth(b) && PixelFormat.planeCount(a) == PixelFormat.planeCount(b)
            && PixelFormat.chromaShift(a) == PixelFormat.chromaShift(b) && hasAlpha(a) == hasAlpha(b)
            && !PixelFormat.isRGB(a) && !PixelFormat.isRGB(b) && !PixelFormat.isFullRangeJPEG(b)
    }

    public static func hasAlpha(_ format: AVPixelFormat) -> Bool {
        guard let d = av_pix_fmt_desc_get(format) else { return false }
        return d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
    }

    /// True for a palette format whose palette may carry transparency (pal8: PNG, GIF).
    public static func isPalette(_ format: AVPixelFormat) -> Bool {
        guard let d = av_pix_fmt_desc_get(format) else { return false }
        return d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_PAL) != 0
    }

    /// Grey (with or without alpha): one colour component.
    public static func isGrey(_ format: AVPixelFormat) -> Bool {
        guard let d = av_pix_fmt_desc_get(format) else { return false }
        let n = Int(d.pointee.nb_components)
        let alpha = d.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
        return !isPalette(format) && (n == 1 || (n == 2 && alpha))
    }
}

/// Converts decoded frames into the working format (same size), on the demuxing thread.
/// The converted frame keeps the source frame's properties and is tagged with the working
/// matrix and range, which the encode stage's conversion back reads.
public final class WorkingConverter {
    public let source: VideoFormat
    public let working: VideoFormat
    private var scaler: FrameScaler?
    private var scalerFor: VideoFormat?

    public init(source: VideoFormat, working: VideoFormat) {
        self.source = source
        self.working = working
    }

    public func convert(_ frame: Frame) throws -> Frame {
        // A frame's own tags win over the stream's (a PNG sequence can change matrix mid-way).
        var from = source
        from.pixelFormat = frame.format
        from.colour = ColourDescription(frame: frame.pointer).filling(from: source.colour)
        if scaler == nil || scalerFor != from {
            scaler = try FrameScaler(from: from, to: working, filter: .point, threads: 1)
            scalerFor = from
        }
        let out = try Frame(width: working.width, height: working.height, format: working.pixelFormat)
        try scaler!.scale(frame, into: out)
        try out.copyProperties(from: frame)
        out.pointer.pointee.colorspace = working.colour.matrix
        out.pointer.pointee.color_range = working.colour.range
        out.pointer.pointee.chroma_location = working.colour.chromaLocation
        return out
    }
}
