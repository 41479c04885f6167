import CFFmpeg
import Foundation
import Testing
@testable import UpresMedia
@testable import UpresKit

/// Small synthetic inputs made with the ffmpeg CLI, one folder per test, removed at the end.
final class JobMedia {
    let dir: String

    init(_ name: String = #function) throws {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        dir = NSTemporaryDirectory() + "upres-job-\(safe)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { "\(dir)/\(name)" }

    /// `ffmpeg -f lavfi -i SOURCE ARGS... NAME`; returns the file's path.
    @discardableResult
    func make(_ name: String, _ source: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source] + args + [path(name)]
        p.standardInput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw JobError(file: name, message: "ffmpeg failed: \(text)") }
        return path(name)
    }
}

/// `JobPlan` in process: what a job decides before it runs (encoder, pixel formats, sizes,
/// warnings), and the errors it gives, without the binary and without writing a file.
@Suite("Job plan: encoder, formats and warnings, in process")
struct JobPlanTests {
    static func codec(_ plan: JobPlan) -> String { plan.encoding.encoderName }

    @Test("an RGB source into .mkv: H.264 in YUV with the matrix stated; lanczos works in RGB; into .png it stays RGB")
    func rgbSource() throws {
        let media = try JobMedia()
        let png = try media.make("rgb.png", "testsrc2=size=200x120", ["-frames:v", "1", "-pix_fmt", "rgb24"])
        let plan = try JobPlan(JobSettings(input: png, output: media.path("out.mkv"), size: .scale(2)))
        #expect(plan.sourceFormat.pixelFormat == AV_PIX_FMT_RGB24)
        #expect(Self.codec(plan) == "libx264")
        #expect(!PixelFormat.isRGB(plan.encodeFormat.pixelFormat))
        #expect(plan.encodeFormat.colour.matrix != AVCOL_SPC_RGB && plan.encodeFormat.colour.matrix != AVCOL_SPC_UNSPECIFIED)
        #expect(plan.encodeFormat.colour.range == (PixelFormat.isFullRangeJPEG(plan.encodeFormat.pixelFormat)
                                                   ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG))
        #expect(plan.encodeFormat.width == 400 && plan.encodeFormat.height == 240)
        // Classical scalers run in the source's own format.
        #expect(plan.workingFormat == plan.sourceFormat)
        #expect(plan.upscaledFormat.width == 400 && plan.upscaledFormat.pixelFormat == AV_PIX_FMT_RGB24)
        #expect(!FileManager.default.fileExists(atPath: media.path("out.mkv")), "planning creates no file")

        let toPNG = try JobPlan(JobSettings(input: png, output: media.path("big.png"), size: .scale(2)))
        #expect(Self.codec(toPNG) == "png")
        #expect(PixelFormat.isRGB(toPNG.encodeFormat.pixelFormat))
        #expect(toPNG.warnings.isEmpty, "\(toPNG.warnings)")
    }

    @Test("an alpha source: .mkv picks an encoder that keeps alpha (with a note); .mp4 warns that it is dropped")
    func alphaSource() throws {
        let media = try JobMedia()
        let png = try media.make("rgba.png", "testsrc2=size=64x48", ["-frames:v", "1", "-vf", "format=rgba", "-pix_fmt", "rgba"])
        let mkv = try JobPlan(JobSettings(input: png, output: media.path("out.mkv")))
        #expect(Self.codec(mkv) == "ffv1")
        #expect(WorkingFormat.hasAlpha(mkv.encodeFormat.pixelFormat))
        #expect(mkv.warnings.contains { $0.contains("alpha plane") && $0.contains("ffv1") }, "\(mkv.warnings)")

        let mp4 = try JobPlan(JobSettings(input: png, output: media.path("out.mp4")))
        #expect(Self.codec(mp4) == "libx264")
        #expect(!WorkingFormat.hasAlpha(mp4.encodeFormat.pixelFormat))
        #expect(mp4.warnings.contains { $0.contains("alpha plane (transparency) is dropped") }, "\(mp4.warnings)")
    }

    @Test("a 12-bit source into .mp4 is encoded with libx265 (H.264 holds 10 bits), and says why")
    func deepSource() throws {
        let media = try JobMedia()
        let src = try media.make("deep.mkv", "testsrc2=size=64x48:rate=10:duration=0.3",
                                 ["-c:v", "ffv1", "-pix_fmt", "yuv420p12le"])
        let plan = try JobPlan(JobSettings(input: src, output: media.path("out.mp4")))
        #expect(plan.sourceFormat.pixelFormat == AV_PIX_FMT_YUV420P12LE)
        #expect(Self.codec(plan) == "libx265")
        #expect(PixelFormat.bitDepth(plan.encodeFormat.pixelFormat) == 12)
        #expect(plan.warnings.contains { $0.contains("12 bits per sample") && $0.contains("libx265") }, "\(plan.warnings)")
        // An explicit encoder is kept, and the lost bits are said.
        var settings = JobSettings(input: src, output: media.path("x264.mp4"))
        settings.encoder.codec = "libx264"
        let x264 = try JobPlan(settings)
        #expect(Self.codec(x264) == "libx264")
        #expect(x264.warnings.contains { $0.contains("fewer bits") }, "\(x264.warnings)")
    }

    @Test("an odd size into H.264 4:2:0 is cropped to even, with a warning; the upscaler's output is not")
    func oddSize() throws {
        let media = try JobMedia()
        let src = try media.make("odd.mkv", "testsrc2=size=64x48:rate=10:duration=0.3",
                                 ["-vf", "scale=65:49", "-c:v", "ffv1", "-pix_fmt", "yuv420p"])
        let plan = try JobPlan(JobSettings(input: src, output: media.path("out.mp4"), size: .scale(1)))
        #expect(plan.upscaledFormat.width == 65 && plan.upscaledFormat.height == 49)
        #expect(plan.encodeFormat.width == 64 && plan.encodeFormat.height == 48)
        #expect(plan.warnings.contains { $0.contains("cropping 65x49 to 64x48") }, "\(plan.warnings)")
    }

    @Test("bad inputs and outputs: clear errors naming the file, before anything is written")
    func errors() throws {
        let media = try JobMedia()
        let missing = media.path("missing.mp4")
        #expect { try JobPlan(JobSettings(input: missing)) } throws: {
            ($0 as? JobError).map { $0.file == missing && $0.message == "no such file" } ?? false
        }
        let src = try media.make("in.mkv", "testsrc2=size=64x48:rate=10:duration=0.3", ["-c:v", "ffv1"])
        #expect { try JobPlan(JobSettings(input: src, output: src, overwrite: true)) } throws: { $0 is JobError }
        var settings = JobSettings(input: src, output: media.path("out.mkv"))
        settings.encoder.codec = "no-such-encoder"
        #expect { try JobPlan(settings) } throws: {
            ($0 as? JobError).map { $0.file == media.path("out.mkv") && $0.message.contains("unknown video encoder") } ?? false
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: media.dir) == ["in.mkv"])
    }
}

/// One job run in process from its plan: one pass and the segmented (resumable) path, on a
/// synthetic clip, read back with the media layer.
@Suite("Job run in process")
struct JobRunTests {
    static func frames(in path: String) throws -> (count: Int, width: Int32, height: Int32) {
        let input = try InputFile(path: path)
        let index = try input.mainVideoStream()
        let decoder = try VideoDecoder(input: input, streamIndex: index, threads: 1)
        let packet = Packet(), frame = Frame()
        var count = 0
        func drain() {
            while case .frame = decoder.receive(into: frame) { count += 1 }
        }
        reading: while true {
            switch input.read(into: packet) {
            case .packet:
                if Int(packet.streamIndex) == index {
                    while case .full = decoder.send(packet) { drain() }
                    drain()
                }
            case .endOfFile, .error: break reading
            }
        }
        _ = decoder.send(nil)
        drain()
        let par = input.stream(index).pointee.codecpar!
        return (count, par.pointee.width, par.pointee.height)
    }

    @Test("one pass and the segmented path write every frame at the planned size, and say so", arguments: [false, true])
    func run(segmented: Bool) throws {
        let media = try JobMedia()
        let src = try media.make("in.mkv", "testsrc2=size=64x48:rate=10:duration=1.2",
                                 ["-c:v", "ffv1", "-g", "4", "-pix_fmt", "yuv420p"])
        var settings = JobSettings(input: src, output: media.path("out.mkv"), size: .scale(2))
        settings.segmented = segmented
        settings.segmentSeconds = 0.4
        settings.encoder.codec = "ffv1"
        let plan = try JobPlan(settings)
        let job = UpscaleJob(plan: plan)
        var started = 0, updates = 0
        let result = try job.run(onStart: { _ in started += 1 }, progress: { _ in updates += 1 })
        #expect(result.output == media.path("out.mkv"))
        #expect(result.framesDecoded == 12 && result.framesEncoded == 12)
        #expect(result.outputSize.width == 128 && result.outputSize.height == 96)
        #expect(result.encoder == "ffv1" && !result.interrupted)
        #expect(started >= 1 && updates >= 1)
        let written = try Self.frames(in: result.output)
        #expect(written.count == 12 && written.width == 128 && written.height == 96)
        // Nothing is left beside the output (staging files, the work folder).
        #expect(try FileManager.default.contentsOfDirectory(atPath: media.dir).sorted() == ["in.mkv", "out.mkv"])
    }
}
