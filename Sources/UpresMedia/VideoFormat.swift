import CFFmpeg

/// Colour description of a video stream or frame (all FFmpeg enum raw values).
public struct ColourDescription: Equatable, Sendable {
    public var primaries: AVColorPrimaries
    public var transfer: AVColorTransferCharacteristic
    public var matrix: AVColorSpace
    public var range: AVColorRange
    public var chromaLocation: AVChromaLocation

    public init(primaries: AVColorPrimaries = AVCOL_PRI_UNSPECIFIED,
                transfer: AVColorTransferCharacteristic = AVCOL_TRC_UNSPECIFIED,
                matrix: AVColorSpace = AVCOL_SPC_UNSPECIFIED,
                range: AVColorRange = AVCOL_RANGE_UNSPECIFIED,
                chromaLocation: AVChromaLocation = AVCHROMA_LOC_UNSPECIFIED) {
        self.primaries = primaries
        self.transfer = transfer
        self.matrix = matrix
        self.range = range
        self.chromaLocation = chromaLocation
    }

    init(parameters p: UnsafePointer<AVCodecParameters>) {
        self.init(primaries: p.pointee.color_primaries, transfer: p.pointee.color_trc,
                  matrix: p.pointee.color_space, range: p.pointee.color_range,
                  chromaLocation: p.pointee.chroma_location)
    }

    init(frame f: UnsafePointer<AVFrame>) {
        self.init(primaries: f.pointee.color_primaries, transfer: f.pointee.color_trc,
                  matrix: f.pointee.colorspace, range: f.pointee.color_range,
                  chromaLocation: f.pointee.chroma_location)
    }

    /// Fills fields the frame left unspecified from the stream's description.
    public func filling(from other: ColourDescription) -> ColourDescription {
        var c = self
        if c.primaries == AVCOL_PRI_UNSPECIFIED { c.primaries = other.primaries }
        if c.transfer == AVCOL_TRC_UNSPECIFIED { c.transfer = other.transfer }
        if c.matrix == AVCOL_SPC_UNSPECIFIED { c.matrix = other.matrix }
        if c.range == AVCOL_RANGE_UNSPECIFIED { c.range = other.range }
        if c.chromaLocation == AVCHROMA_LOC_UNSPECIFIED { c.chromaLocation = other.chromaLocation }
        return c
    }

    /// The YUV<->RGB matrix to use when one is needed: the tagged one, or the
    /// usual guess for untagged video (BT.709 for HD, BT.601 for SD), stated explicitly.
    public func effectiveMatrix(height: Int32) -> AVColorSpace {
        switch matrix {
        case AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_RESERVED, AVCOL_SPC_RGB:
            return height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M
        default:
            return matrix
        }
    }

    public var isFullRange: Bool { range == AVCOL_RANGE_JPEG }

    /// Full-range RGB (pictures and previews).
    public static let rgb = ColourDescription(matrix: AVCOL_SPC_RGB, range: AVCOL_RANGE_JPEG)
    /// Limited-range BT.601 (grey pictures: luma only).
    public static let limitedBT601 = ColourDescription(matrix: AVCOL_SPC_SMPTE170M, range: AVCOL_RANGE_MPEG)

    /// Whether chroma samples sit at the left edge of their luma pairs (MPEG-2 and H.264's
    /// default, and unspecified), not centred between them (JPEG, MPEG-1) or at the top left.
    public var chromaSitedLeft: Bool { chromaLocation != AVCHROMA_LOC_CENTER && chromaLocation != AVCHROMA_LOC_TOP }

    /// The same with full-range levels.
    public var fullRange: ColourDescription { var c = self; c.range = AVCOL_RANGE_JPEG; return c }

    public var summary: String {
        func n(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "?" }
        return "\(n(av_color_space_name(matrix)))/\(n(av_color_primaries_name(primaries)))/"
            + "\(n(av_color_transfer_name(transfer)))/\(n(av_color_range_name(range)))"
    }
}

/// Size, pixel format, aspect and colour of a stream of video frames.
/// The luma weights (Kr, Kb) of a YUV matrix: Y = Kr R + (1 - Kr - Kb) G + Kb B.
public struct LumaWeights: Equatable, Sendable {
    public let kr: Float, kb: Float

    /// `matrix` should be a YUV matrix (`ColourDescription.effectiveMatrix` for untagged video);
    /// others get BT.601's weights.
    public init(matrix: AVColorSpace) {
        switch matrix {
        case AVCOL_SPC_BT709: (kr, kb) = (0.2126, 0.0722)
        case AVCOL_SPC_BT2020_NCL, AVCOL_SPC_BT2020_CL: (kr, kb) = (0.2627, 0.0593)
        case AVCOL_SPC_SMPTE240M: (kr, kb) = (0.212, 0.087)
        case AVCOL_SPC_FCC: (kr, kb) = (0.30, 0.11)
        default: (kr, kb) = (0.299, 0.114)   // BT.601 (SMPTE 170M, BT.470 BG)
        }
    }
}

public struct VideoFormat: Equatable, Sendable {
    public var width: Int32
    public var height: Int32
    public var pixelFormat: AVPixelFormat
    /// Sample (pixel) aspect ratio; 0/1 when unknown.
    public var sampleAspectRatio: AVRational
    public var colour: ColourDescription
    public var fieldOrder: AVFieldOrder

    public init(width: Int32, height: Int32, pixelFormat: AVPixelFormat,
                sampleAspectRatio: AVRational = AVRational(num: 0, den: 1),
                colour: ColourDescription = ColourDescription(),
                fieldOrder: AVFieldOrder = AV_FIELD_UNKNOWN) {
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.sampleAspectRatio = sampleAspectRatio
        self.colour = colour
        self.fieldOrder = fieldOrder
    }

    /// This format resized to `width` x `height`, with the sample aspect ratio
    /// adjusted so the display aspect ratio stays the same.
    public func resized(width newWidth: Int32, height newHeight: Int32) -> VideoFormat {
        var f = self
        f.width = newWidth
        f.height = newHeight
        let sar = sampleAspectRatio.num > 0 && sampleAspectRatio.den > 0
            ? sampleAspectRatio : AVRational(num: 1, den: 1)
        // new_sar = sar * (w * H) / (h * W), so that W * new_sar / H == w * sar / h.
        var num: Int32 = 0, den: Int32 = 0
        av_reduce(&num, &den, Int64(sar.num) * Int64(width) * Int64(newHeight),
                  Int64(sar.den) * Int64(height) * Int64(newWidth), 65535)
        if sampleAspectRatio.num == 0 && num == den {
            f.sampleAspectRatio = sampleAspectRatio   // stays "unknown" when it would be 1:1
        } else {
            f.sampleAspectRatio = AVRational(num: num, den: den)
        }
        return f
    }
}

extension AVRational: @retroactive Equatable {
    public static func == (a: AVRational, b: AVRational) -> Bool { a.num == b.num && a.den == b.den }
}

extension AVRational: @retroactive CustomStringConvertible {
    public var description: String { "\(num)/\(den)" }
}
