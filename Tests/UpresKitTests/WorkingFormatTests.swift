import CFFmpeg
import Testing
import UpresMedia
@testable import UpresKit

/// The working format of the networks: which sources need one, and that going through it
/// and back (as the job does: `WorkingConverter`, then the encode stage's `FrameScaler`) gives
/// the source's code values back.
@Suite("Working format for RGB, alpha and other sources")
struct WorkingFormatTests {
    @Test("formats the tile pipeline reads as they are, and the ones it does not")
    func direct() {
        for f in [AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV444P16LE, AV_PIX_FMT_YUVA420P,
                  AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_NV12, AV_PIX_FMT_GRAY8, AV_PIX_FMT_GRAY16LE] {
            #expect(WorkingFormat.networkReadsDirectly(f, rgbModel: false), "\(PixelFormat.name(f))")
        }
        for f in [AV_PIX_FMT_RGB24, AV_PIX_FMT_RGBA, AV_PIX_FMT_BGR0, AV_PIX_FMT_RGB48BE, AV_PIX_FMT_GBRP,
                  AV_PIX_FMT_PAL8, AV_PIX_FMT_YA8, AV_PIX_FMT_P010LE, AV_PIX_FMT_YUV420P10BE, AV_PIX_FMT_GRAY16BE,
                  AV_PIX_FMT_YUYV422, AV_PIX_FMT_GRAYF32LE] {
            #expect(!WorkingFormat.networkReadsDirectly(f, rgbModel: false), "\(PixelFormat.name(f))")
        }
        // RGB networks need three planes.
        #expect(WorkingFormat.networkReadsDirectly(AV_PIX_FMT_YUV420P, rgbModel: true))
        #expect(WorkingFormat.networkReadsDirectly(AV_PIX_FMT_YUVA444P, rgbModel: true))
        #expect(!WorkingFormat.networkReadsDirectly(AV_PIX_FMT_GRAY8, rgbModel: true))
        #expect(!WorkingFormat.networkReadsDirectly(AV_PIX_FMT_NV12, rgbModel: true))
    }

    @Test("the working format and its stated matrix and range")
    func plan() {
        func fmt(_ p: AVPixelFormat, _ h: Int32 = 720) -> VideoFormat { VideoFormat(width: 1280, height: h, pixelFormat: p) }
        let yuv = fmt(AV_PIX_FMT_YUV420P)
        #expect(WorkingFormat.plan(source: yuv, encode: yuv, rgbModel: false) == yuv)
        // RGB into an RGB encoder: BT.601 limited range (the networks' training luma).
        let toPNG = WorkingFormat.plan(source: fmt(AV_PIX_FMT_RGB24), encode: fmt(AV_PIX_FMT_RGB24), rgbModel: false)
        #expect(toPNG.pixelFormat == AV_PIX_FMT_YUV444P16LE)
        #expect(toPNG.colour.matrix == AVCOL_SPC_SMPTE170M && toPNG.colour.range == AVCOL_RANGE_MPEG)
        // RGB into a YUV encoder: the output's matrix, so no second matrix conversion.
        var h264 = fmt(AV_PIX_FMT_YUV420P)
        h264.colour.matrix = AVCOL_SPC_BT709
        let toH264 = WorkingFormat.plan(source: fmt(AV_PIX_FMT_RGB24), encode: h264, rgbModel: false)
        #expect(toH264.colour.matrix == AVCOL_SPC_BT709 && toH264.colour.range == AVCOL_RANGE_MPEG)
        #expect(WorkingFormat.plan(source: fmt(AV_PIX_FMT_RGBA), encode: fmt(AV_PIX_FMT_RGBA), rgbModel: false).pixelFormat
                == AV_PIX_FMT_YUVA444P16LE)
        #expect(WorkingFormat.plan(source: fmt(AV_PIX_FMT_YA8), encode: fmt(AV_PIX_FMT_YA8), rgbModel: false).pixelFormat
                == AV_PIX_FMT_YUVA444P16LE)
        #expect(WorkingFormat.plan(source: fmt(AV_PIX_FMT_GRAY16BE), encode: fmt(AV_PIX_FMT_GRAY16BE), rgbModel: false).pixelFormat
                == AV_PIX_FMT_GRAY16LE)
        #expect(WorkingFormat.plan(source: fmt(AV_PIX_FMT_GRAY8), encode: fmt(AV_PIX_FMT_GRAY8), rgbModel: true).pixelFormat
                == AV_PIX_FMT_YUV444P16LE)
    }

    /// A frame of `format` with pseudo-random samples in every byte (every code value occurs).
    func noise(_ format: AVPixelFormat, w: Int32 = 67, h: Int32 = 45) throws -> Frame {
        let f = try Frame(width: w, height: h, format: format)
        var state: UInt32 = 12345
        for p in 0..<Int(av_pix_fmt_count_planes(format)) {
            let base = f.data(plane: p)!
            for i in 0..<(f.lineSize(plane: p) * Int(h)) {
                state = state &* 1_103_515_245 &+ 12345
                base[i] = UInt8(truncatingIfNeeded: state >> 16)
            }
        }
        if format == AV_PIX_FMT_BGR0 {   // the padding byte is not a sample
            for y in 0..<Int(h) { for x in 0..<Int(w) { f.data(plane: 0)![y * f.lineSize(plane: 0) + 4 * x + 3] = 0 } }
        }
        return f
    }

    /// Source -> working (the job's converter) -> source format (as the encode stage converts).
    func roundTrip(_ format: AVPixelFormat, encode: AVPixelFormat? = nil) throws -> (Frame, Frame) {
        let src = try noise(format)
        var source = VideoFormat(width: src.width, height: src.height, pixelFormat: format)
        source.colour.range = AVCOL_RANGE_JPEG
        var encodeFormat = source
        encodeFormat.pixelFormat = encode ?? format
        let working = WorkingFormat.plan(source: source, encode: encodeFormat, rgbModel: false)
        let mid = try WorkingConverter(source: source, working: working).convert(src)
        var from = working
        from.colour = mid.colour.filling(from: working.colour)
        let back = try FrameScaler(from: from, to: encodeFormat, filter: .bicubic, threads: 0)
        let out = try Frame(width: src.width, height: src.height, format: encodeFormat.pixelFormat)
        try back.scale(mid, into: out)
        return (src, out)
    }

    /// Largest difference per component of a packed picture (`components` samples of `bytes`
    /// each per pixel, 16-bit ones big-endian; `padded` bytes per pixel in all).
    func maxDifference(_ a: Frame, _ b: Frame, components: Int, bytes: Int = 1, padded: Int) -> [Int] {
        var worst = [Int](repeating: 0, count: components)
        let pa = a.data(plane: 0)!, pb = b.data(plane: 0)!
        for y in 0..<Int(a.height) {
            let ra = pa + y * a.lineSize(plane: 0), rb = pb + y * b.lineSize(plane: 0)
            for x in 0..<Int(a.width) {
                for c in 0..<components {
                    let i = x * padded + c * bytes
                    let va = bytes == 2 ? Int(ra[i]) << 8 | Int(ra[i + 1]) : Int(ra[i])
                    let vb = bytes == 2 ? Int(rb[i]) << 8 | Int(rb[i + 1]) : Int(rb[i])
                    worst[c] = max(worst[c], abs(va - vb))
                }
            }
        }
        return worst
    }

    @Test("8-bit RGB comes back exactly; alpha within one code value",
          arguments: [(AV_PIX_FMT_RGB24, 3, 3), (AV_PIX_FMT_BGR0, 3, 4), (AV_PIX_FMT_RGBA, 4, 4), (AV_PIX_FMT_YA8, 2, 2)])
    func exact8(_ format: AVPixelFormat, _ components: Int, _ padded: Int) throws {
        let (src, out) = try roundTrip(format)
        var worst = maxDifference(src, out, components: components, padded: padded)
        if WorkingFormat.hasAlpha(format) {
            // swscale's 16- to 8-bit alpha rounds values of 128 and up by one (0 and 255 stay).
            #expect(worst.removeLast() <= 1, "\(PixelFormat.name(format)) alpha")
        }
        #expect(worst.allSatisfy { $0 == 0 }, "\(PixelFormat.name(format)): \(worst)")
    }

    @Test("16-bit RGB keeps more than 8 bits: back within 40 of 65535 (swscale's 16-bit precision)")
    func rgb48() throws {
        let (src, out) = try roundTrip(AV_PIX_FMT_RGB48BE)
        let worst = maxDifference(src, out, components: 3, bytes: 2, padded: 6)
        #expect(worst.allSatisfy { $0 <= 40 }, "\(worst)")
    }
}
