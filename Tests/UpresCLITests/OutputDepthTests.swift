import Foundation
import Testing

/// A deeper output than the source (`--pix-fmt yuv420p10le` on 8-bit video) keeps the network's
/// precision: the network works at the output's depth instead of being rounded to 8 bits first.
@Suite("Output deeper than the source")
struct OutputDepthTests {
    /// Distinct values among the first frame's luma samples, decoded as 10-bit.
    static func distinctLuma(_ file: String, width: Int, height: Int, in s: Scratch) throws -> Int {
        let raw = s.file("frame.raw")
        try Shell.ffmpeg(["-y", "-i", file, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", raw], cwd: s.path)
        let data = try Data(contentsOf: URL(fileURLWithPath: raw))
        var values = Set<UInt16>()
        data.withUnsafeBytes { b in
            let samples = b.bindMemory(to: UInt16.self)
            for i in 0..<(width * height) { values.insert(UInt16(littleEndian: samples[i])) }
        }
        return values.count
    }

    @Test("8-bit video to a 10-bit output has more than 256 luma levels from the network")
    func tenBitKeepsPrecision() throws {
        let s = try Scratch()
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=96x64:rate=24:duration=0.25", "-c:v", "libx264",
                          "-preset", "ultrafast", "-pix_fmt", "yuv420p", "in.mp4"], cwd: s.path)
        let deep = try Upres.run(["in.mp4", "-o", "deep.mkv", "--codec", "ffv1", "--pix-fmt", "yuv420p10le", "-q"],
                                 cwd: s.path, network: true)
        #expect(deep.status == 0, "\(deep.stderr)")
        let eight = try Upres.run(["in.mp4", "-o", "eight.mkv", "--codec", "ffv1", "-q"], cwd: s.path, network: true)
        #expect(eight.status == 0, "\(eight.stderr)")
        let video = try Probe.video(s.file("deep.mkv"))
        #expect(video["pix_fmt"] as? String == "yuv420p10le")
        // An 8-bit result has at most 256 levels however it is widened; the 10-bit one many more.
        let eightLevels = try Self.distinctLuma(s.file("eight.mkv"), width: 192, height: 128, in: s)
        let deepLevels = try Self.distinctLuma(s.file("deep.mkv"), width: 192, height: 128, in: s)
        #expect(eightLevels <= 256, "\(eightLevels)")
        #expect(deepLevels > 300, "10-bit output has only \(deepLevels) luma levels: rounded to 8 bits on the way")
    }
}
