import Foundation
import Testing
import CFFmpeg
@testable import UpresKit
@testable import UpresMedia

@Suite("Output size, names and timestamps")
struct PlanningTests {
    @Test func scaleSizes() {
        #expect(TargetSize.scale(2).outputSize(width: 321, height: 181) == (642, 362))
        #expect(TargetSize.scale(4).outputSize(width: 1920, height: 1080) == (7680, 4320))
        #expect(TargetSize.box(width: 1000, height: nil).outputSize(width: 320, height: 180) == (1000, 562))
        #expect(TargetSize.box(width: nil, height: 1080).outputSize(width: 720, height: 576) == (1350, 1080))
        // Both given: fit inside the box.
        #expect(TargetSize.box(width: 1920, height: 1920).outputSize(width: 640, height: 360) == (1920, 1080))
        #expect(TargetSize.box(width: 3840, height: 1080).outputSize(width: 640, height: 360) == (1920, 1080))
    }

    @Test func aspectRatioFollowsResize() {
        let sd = VideoFormat(width: 720, height: 576, pixelFormat: AV_PIX_FMT_YUV420P,
                             sampleAspectRatio: AVRational(num: 16, den: 15))
        #expect(sd.resized(width: 1440, height: 1152).sampleAspectRatio == AVRational(num: 16, den: 15))
        // Square-pixel target of a 4:3 picture: 768x576 shows the same shape.
        #expect(sd.resized(width: 768, height: 576).sampleAspectRatio == AVRational(num: 1, den: 1))
        let unknown = VideoFormat(width: 320, height: 180, pixelFormat: AV_PIX_FMT_YUV420P)
        #expect(unknown.resized(width: 640, height: 360).sampleAspectRatio == AVRational(num: 0, den: 1))
        #expect(unknown.resized(width: 640, height: 300).sampleAspectRatio == AVRational(num: 5, den: 6))
    }

    @Test func defaultNames() {
        #expect(OutputNaming.defaultOutput(for: "clip.mkv", size: .scale(2)) == "clip.upres-x2.mkv")
        #expect(OutputNaming.defaultOutput(for: "/v/a.b.mp4", size: .scale(4)) == "/v/a.b.upres-x4.mp4")
        #expect(OutputNaming.defaultOutput(for: "dir/clip.weird", size: .scale(2)) == "dir/clip.upres-x2.mkv")
        #expect(OutputNaming.defaultOutput(for: "f/%05d.png", size: .box(width: 1920, height: nil)) == "f/%05d.upres-1920x.png")
        #expect(OutputNaming.isSequencePattern("f/%05d.png"))
        #expect(!OutputNaming.isSequencePattern("f/100%.png"))
        #expect(OutputNaming.defaultEncoder(for: "mp4", fileExtension: "mp4") == "libx264")
        #expect(OutputNaming.defaultEncoder(for: "image2", fileExtension: "jpg") == "mjpeg")
        #expect(OutputNaming.defaultEncoder(for: "webm", fileExtension: "webm") == "libvpx-vp9")
    }

    @Test func timestampsPassThroughAndStayMonotonic() {
        var timeline = FrameTimeline()
        let tb = AVRational(num: 1, den: 1000), rate = AVRational(num: 25, den: 1)
        func frame(_ pts: Int64) -> Frame {
            let f = Frame()
            f.pointer.pointee.best_effort_timestamp = pts
            f.pts = pts
            return f
        }
        var out: [Int64] = []
        for pts in [0, 40, 120, noTimestamp, 120, 100, 300] as [Int64] {
            let f = frame(pts)
            timeline.assignTimestamp(to: f, timeBase: tb, frameRate: rate)
            out.append(f.pts)
        }
        // Source values kept; a missing one synthesised one frame later; repeats pushed forward.
        #expect(out == [0, 40, 120, 160, 161, 162, 300])
        #expect(timeline.adjustedTimestamps == 3)
    }
}

@Suite("Classical upscaler")
struct ClassicalUpscalerTests {
    func filled(_ f: Frame, _ value: (Int, Int, Int) -> UInt8) {
        for plane in 0..<3 {
            let h = Int(plane == 0 ? f.height : (f.height + 1) / 2), w = Int(plane == 0 ? f.width : (f.width + 1) / 2)
            let base = f.data(plane: plane)!, stride = f.lineSize(plane: plane)
            for y in 0..<h { for x in 0..<w { base[y * stride + x] = value(plane, x, y) } }
        }
    }

    @Test("flat frames stay flat, properties are carried", arguments: [ScaleFilter.lanczos, .bicubic])
    func flatStaysFlat(_ filter: ScaleFilter) throws {
        let input = VideoFormat(width: 33, height: 17, pixelFormat: AV_PIX_FMT_YUV420P,
                                colour: ColourDescription(primaries: AVCOL_PRI_BT709, transfer: AVCOL_TRC_BT709,
                                                          matrix: AVCOL_SPC_BT709, range: AVCOL_RANGE_MPEG))
        let up = try ClassicalUpscalerFactory(filter: filter, threads: 1)
            .makeUpscaler(input: input, output: input.resized(width: 99, height: 51))
        let src = try Frame(width: 33, height: 17, format: AV_PIX_FMT_YUV420P)
        filled(src) { p, _, _ in p == 0 ? 120 : (p == 1 ? 90 : 200) }
        src.pts = 1234
        src.pointer.pointee.colorspace = AVCOL_SPC_BT709
        let out = try up.upscale(src)
        #expect(out.width == 99 && out.height == 51 && out.pts == 1234)
        #expect(out.pointer.pointee.colorspace == AVCOL_SPC_BT709)
        for plane in 0..<3 {
            let expected: UInt8 = plane == 0 ? 120 : (plane == 1 ? 90 : 200)
            let h = plane == 0 ? 51 : 26, w = plane == 0 ? 99 : 50
            let base = out.data(plane: plane)!, stride = out.lineSize(plane: plane)
            for y in 0..<h { for x in 0..<w { #expect(base[y * stride + x] == expected) } }
        }
    }

    @Test("lanczos and bicubic are different kernels, both sharper than nearest-neighbour blur would be")
    func kernelsDiffer() throws {
        let input = VideoFormat(width: 16, height: 16, pixelFormat: AV_PIX_FMT_YUV420P)
        var outputs: [[UInt8]] = []
        for filter in [ScaleFilter.lanczos, .bicubic] {
            let up = try ClassicalUpscaler(filter: filter, input: input, output: input.resized(width: 32, height: 32), threads: 1)
            let src = try Frame(width: 16, height: 16, format: AV_PIX_FMT_YUV420P)
            filled(src) { p, x, y in p == 0 ? ((x + y) % 2 == 0 ? 40 : 200) : 128 }
            let out = try up.upscale(src)
            let base = out.data(plane: 0)!, stride = out.lineSize(plane: 0)
            outputs.append((0..<32).flatMap { y in (0..<32).map { x in base[y * stride + x] } })
        }
        #expect(outputs[0] != outputs[1])
    }
}

@Suite("Output staging")
struct StagingTests {
    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "upres-staging-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func commitRenamesDiscardRemoves() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        let staging = try OutputStaging(finalPath: "\(d)/out.mp4", overwrite: false)
        #expect(staging.writePath.hasPrefix("\(d)/.out.mp4."))
        try Data("x".utf8).write(to: URL(fileURLWithPath: staging.writePath))
        try staging.commit()
        #expect(try FileManager.default.contentsOfDirectory(atPath: d) == ["out.mp4"])
        let second = try OutputStaging(finalPath: "\(d)/other.mkv", overwrite: false)
        try Data("y".utf8).write(to: URL(fileURLWithPath: second.writePath))
        second.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: d) == ["out.mp4"])
    }

    @Test func guardRefusesInputAndExistingFiles() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(atPath: d) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(d)/a.mp4"))
        #expect(throws: JobError.self) { try OutputGuard.check(input: "\(d)/a.mp4", output: "\(d)/a.mp4", overwrite: true) }
        #expect(throws: JobError.self) { try OutputGuard.check(input: "\(d)/b.mp4", output: "\(d)/a.mp4", overwrite: false) }
        try OutputGuard.check(input: "\(d)/b.mp4", output: "\(d)/a.mp4", overwrite: true)
        try OutputGuard.check(input: "\(d)/b.mp4", output: "\(d)/c.mp4", overwrite: false)
    }
}
