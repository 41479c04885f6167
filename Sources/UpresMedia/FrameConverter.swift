import CFFmpeg

/// Converts frames of any size and pixel format to one target format with swscale (Lanczos
/// where the size or chroma changes), reading each frame's own colour tags (filled from the
/// stream's) and stating the target's. Y'CbCr to Y'CbCr with different (stated) matrices goes
/// through 16-bit RGB, since swscale converts matrices only on a YUV<->RGB step.
public final class FrameConverter {
    public let target: VideoFormat
    private let stream: VideoFormat
    private var steps: [FrameScaler] = []
    private var stepsFor: VideoFormat?

    /// - Parameter stream: the source stream's format (its tags fill what frames leave unstated).
    public init(stream: VideoFormat, target: VideoFormat) {
        self.stream = stream
        self.target = target
    }

    /// The frame's format as swscale should read it.
    public func sourceFormat(of frame: Frame) -> VideoFormat {
        var f = stream
        f.width = frame.width
        f.height = frame.height
        f.pixelFormat = frame.format
        f.colour = ColourDescription(frame: frame.pointer).filling(from: stream.colour)
        return f
    }

    /// True when `frame` is already in the target format (no conversion needed).
    public func matches(_ frame: Frame) -> Bool {
        let f = sourceFormat(of: frame)
        return f.width == target.width && f.height == target.height && f.pixelFormat == target.pixelFormat
            && !needsMatrixStep(f) && (PixelFormat.isRGB(f.pixelFormat) || f.colour.isFullRange == target.colour.isFullRange)
    }

    /// Both Y'CbCr, both tagged, with different matrices. An untagged side is taken to use the
    /// other's matrix: a missing tag is no reason to change the values.
    private func needsMatrixStep(_ from: VideoFormat) -> Bool {
        func tagged(_ m: AVColorSpace) -> Bool { m != AVCOL_SPC_UNSPECIFIED && m != AVCOL_SPC_RESERVED && m != AVCOL_SPC_RGB }
        let yuv = !PixelFormat.isRGB(from.pixelFormat) && !PixelFormat.isRGB(target.pixelFormat)
            && !WorkingFormat.isGrey(from.pixelFormat) && !WorkingFormat.isGrey(target.pixelFormat)
        return yuv && tagged(from.colour.matrix) && tagged(target.colour.matrix) && from.colour.matrix != target.colour.matrix
    }

    public func convert(_ frame: Frame) throws -> Frame {
        let from = sourceFormat(of: frame)
        if stepsFor != from {
            if needsMatrixStep(from) {
                var rgb = target
                rgb.pixelFormat = AV_PIX_FMT_GBRP16LE
                rgb.colour.matrix = AVCOL_SPC_RGB
                rgb.colour.range = AVCOL_RANGE_JPEG
                steps = [try FrameScaler(from: from, to: rgb, filter: .lanczos, threads: 1),
                         try FrameScaler(from: rgb, to: target, filter: .lanczos, threads: 1)]
            } else {
                steps = [try FrameScaler(from: from, to: target, filter: .lanczos, threads: 1)]
            }
            stepsFor = from
        }
        var current = frame
        for step in steps {
            let out = try Frame(width: step.destination.width, height: step.destination.height,
                                format: step.destination.pixelFormat)
            try step.scale(current, into: out)
            current = out
        }
        try current.copyProperties(from: frame)
        current.pointer.pointee.colorspace = target.colour.matrix
        current.pointer.pointee.color_range = target.colour.range
        return current
    }

    /// The format two streams are measured in, given the reference's: the reference's own where
    /// the psnr and ssim filters take it; RGB (PNG...) as BT.601 limited-range Y'CbCr 4:4:4 (the
    /// Y of super-resolution papers); grey as grey; other layouts (alpha, semi-planar, packed)
    /// as planar Y'CbCr of the same subsampling and depth.
    public static func measuredFormat(reference: VideoFormat) -> VideoFormat {
        var m = reference
        let p = reference.pixelFormat
        if QualityMeter.measures(p) {
            if m.colour.range == AVCOL_RANGE_UNSPECIFIED && WorkingFormat.isGrey(p) { m.colour.range = AVCOL_RANGE_JPEG }
            return m
        }
        let depth = PixelFormat.bitDepth(p)
        let suffix = depth <= 8 ? "" : depth <= 10 ? "10le" : depth <= 12 ? "12le" : "16le"
        if WorkingFormat.isGrey(p) {
            m.pixelFormat = PixelFormat.named(depth <= 8 ? "gray" : "gray\(suffix)") ?? AV_PIX_FMT_GRAY16LE
            if m.colour.range == AVCOL_RANGE_UNSPECIFIED { m.colour.range = AVCOL_RANGE_JPEG }
            return m
        }
        if PixelFormat.isRGB(p) || WorkingFormat.isPalette(p) {
            m.pixelFormat = PixelFormat.named("yuv444p\(suffix)") ?? AV_PIX_FMT_YUV444P16LE
            m.colour.matrix = AVCOL_SPC_SMPTE170M
            m.colour.range = AVCOL_RANGE_MPEG
            m.colour.chromaLocation = AVCHROMA_LOC_UNSPECIFIED
            return m
        }
        let shift = PixelFormat.chromaShift(p)
        let layout = ["0,0": "444", "1,0": "422", "1,1": "420", "0,1": "440", "2,0": "411", "2,2": "410"]["\(shift.x),\(shift.y)"] ?? "444"
        m.pixelFormat = PixelFormat.named("yuv\(layout)p\(suffix)").flatMap { QualityMeter.measures($0) ? $0 : nil }
            ?? PixelFormat.named("yuv444p\(suffix)") ?? AV_PIX_FMT_YUV444P16LE
        if PixelFormat.isFullRangeJPEG(p) { m.colour.range = AVCOL_RANGE_JPEG }
        return m
    }
}
