import CFFmpeg
import Foundation
import Testing
@testable import UpresMedia

@Suite("Frame pool")
struct FramePoolTests {
    @Test("pooled frames have aligned planes of the right size, for 8- and 16-bit, 4:2:0, 4:4:4 and alpha",
          arguments: [AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUVA444P16LE, AV_PIX_FMT_GRAY8, AV_PIX_FMT_RGB24])
    func layout(_ format: AVPixelFormat) throws {
        let pool = FramePool(width: 101, height: 37, format: format)
        let f = try pool.frame()
        #expect(f.width == 101 && f.height == 37 && f.format == format)
        let planes = PixelFormat.planeCount(format)
        let (sx, sy) = PixelFormat.chromaShift(format)
        let bytes = (PixelFormat.bitDepth(format) + 7) / 8 * (format == AV_PIX_FMT_RGB24 ? 3 : 1)
        for p in 0..<planes {
            let data = try #require(f.data(plane: p))
            #expect(Int(bitPattern: data) % 64 == 0 && f.lineSize(plane: p) % 64 == 0, "plane \(p)")
            let chroma = p == 1 || p == 2
            let w = chroma ? (101 + (1 << sx) - 1) >> sx : 101, h = chroma ? (37 + (1 << sy) - 1) >> sy : 37
            #expect(f.lineSize(plane: p) >= w * bytes)
            // Every row of every plane can be written and read back.
            for y in 0..<h { memset(data + y * f.lineSize(plane: p), Int32(p + 1), w * bytes) }
            #expect(data[(h - 1) * f.lineSize(plane: p) + w * bytes - 1] == UInt8(p + 1))
        }
        #expect(f.data(plane: planes) == nil)
    }

    @Test("a released frame's buffer is reused; one still referenced (an encoder's) is not")
    func reuse() throws {
        let pool = FramePool(width: 64, height: 48, format: AV_PIX_FMT_YUV420P)
        var first: Frame? = try pool.frame()
        let firstData = first!.data(plane: 0)
        let held = try first!.reference()        // as an encoder keeps a frame it was sent
        first = nil
        let second = try pool.frame()
        #expect(second.data(plane: 0) != firstData, "a buffer still referenced was handed out again")
        #expect(held.data(plane: 0) == firstData)
        try withExtendedLifetime((held, second)) {
            let third = try pool.frame()
            #expect(third.data(plane: 0) != second.data(plane: 0) && third.data(plane: 0) != firstData)
        }
        // Once every reference is gone, the next frames come from the pool's free buffers.
        var reused = Set<UnsafeMutablePointer<UInt8>?>()
        for _ in 0..<3 { reused.insert(try pool.frame().data(plane: 0)) }
        #expect(reused.count == 1, "frames released at once should keep reusing one buffer")
    }

    @Test("palettes, which the pool cannot lay out, get ordinary frames")
    func palette() throws {
        let f = try FramePool(width: 16, height: 16, format: AV_PIX_FMT_PAL8).frame()
        #expect(f.format == AV_PIX_FMT_PAL8 && f.data(plane: 1) != nil)
    }
}
