import CFFmpeg

/// Picks the video encoder when `--codec` is not given: the container's usual one
/// (`usual`), unless it would lose what the source has — an alpha
/// plane, or bits per sample — and another encoder the container holds keeps it. Each change
/// of encoder comes with a note saying why; what is still lost is said before the job starts.
public struct EncoderChoice {
    public var codecName: String
    /// Why another encoder than the container's usual one was chosen.
    public var note: String?

    /// - Parameters:
    ///   - sourceCodec: the source video's codec (its own encoder is preferred for alpha).
    ///   - sourceHasAlpha: the decoded source carries an alpha plane.
    static func choose(muxer: UnsafePointer<AVOutputFormat>, fileExtension ext: String,
                              source: AVPixelFormat, sourceCodec: AVCodecID, sourceHasAlpha: Bool) -> EncoderChoice {
        let muxerName = String(cString: muxer.pointee.name)
        let usual = usual(for: muxerName, fileExtension: ext) ?? "libx264"
        guard let usualCodec = EncoderCatalog.find(usual) else { return EncoderChoice(codecName: usual) }
        let depth = PixelFormat.bitDepth(source)

        func holds(_ codec: UnsafePointer<AVCodec>) -> Bool {
            avformat_query_codec(muxer, codec.pointee.id, FF_COMPLIANCE_NORMAL) == 1
        }
        if sourceHasAlpha && !takesAlpha(usualCodec) {
            // The container's alpha encoders, the source's own codec first (PNG-in-MOV stays PNG).
            var candidates = alphaEncoders[muxerName] ?? []
            if let own = avcodec_find_encoder(sourceCodec), let i = candidates.firstIndex(of: String(cString: own.pointee.name)) {
                candidates.insert(candidates.remove(at: i), at: 0)
            }
            for name in candidates where name != usual {
                guard let c = EncoderCatalog.find(name), takesAlpha(c), holds(c) else { continue }
                return EncoderChoice(codecName: name,
                                     note: "the source has an alpha plane: encoding with \(name) (\(usual) cannot hold it)")
            }
            return EncoderChoice(codecName: usual)
        }
        if depth > maxDepth(usualCodec) {
            for name in deepEncoders where name != usual {
                guard let c = EncoderCatalog.find(name), maxDepth(c) >= depth, holds(c) else { continue }
                return EncoderChoice(codecName: name,
                                     note: "the source has \(depth) bits per sample: encoding with \(name) "
                                         + "(\(usual) holds at most \(maxDepth(usualCodec)))")
            }
        }
        return EncoderChoice(codecName: usual)
    }

    /// The container's usual encoder (by muxer, then by file extension).
    public static func usual(for muxerName: String, fileExtension ext: String) -> String? {
        if muxerName == "yuv4mpegpipe" { return "wrapped_avframe" }   // raw frames (.y4m)
        if muxerName == "webm" { return "libvpx-vp9" }                // also for -f webm
        switch ext.lowercased() {
        case "png", "apng": return "png"
        case "jpg", "jpeg": return "mjpeg"
        case "webm": return "libvpx-vp9"
        case "tif", "tiff": return "tiff"
        case "bmp": return "bmp"
        case "webp": return "libwebp"
        default:
            return ["image2", "image2pipe"].contains(muxerName) ? "png" : "libx264"
        }
    }

    /// Encoders that keep alpha and that players expect in each container (none for MP4).
    static let alphaEncoders: [String: [String]] = [
        "matroska": ["ffv1", "libvpx-vp9"],
        "webm": ["libvpx-vp9"],
        "mov": ["png", "qtrle", "prores_ks"],
        "nut": ["ffv1"],
        "avi": ["ffv1"],
    ]

    /// Encoders that keep 12 and 16 bits, in order of preference (lossy first, like the usual one).
    static let deepEncoders = ["libx265", "ffv1"]

    static func takesAlpha(_ codec: UnsafePointer<AVCodec>) -> Bool {
        EncoderCatalog.pixelFormats(of: codec).contains { WorkingFormat.hasAlpha($0) && !WorkingFormat.isPalette($0) }
    }

    static func maxDepth(_ codec: UnsafePointer<AVCodec>) -> Int {
        let formats = EncoderCatalog.pixelFormats(of: codec)
        return formats.isEmpty ? 16 : formats.map(PixelFormat.bitDepth).max() ?? 8
    }
}
