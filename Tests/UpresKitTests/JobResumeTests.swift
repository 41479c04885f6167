import Foundation
import Testing
@testable import UpresMedia
@testable import UpresKit

/// Resume in process: a segmented job stopped part way leaves its work folder and a partial
/// file; the same job run again does only what is left, and its output decodes to the same
/// frames as an uninterrupted one-pass run.
@Suite("Job resume in process")
struct JobResumeTests {
    /// framemd5 of the decoded video frames (the ffmpeg CLI, an independent reader).
    static func frameHashes(_ path: String) throws -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw JobError(file: path, message: "framemd5 failed") }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0) }
    }

    @Test("stopped after a few frames, then rerun: only the rest is upscaled, and the output equals one pass")
    func stopThenResume() throws {
        let media = try JobMedia()
        let src = try media.make("in.mkv", "testsrc2=size=64x48:rate=10:duration=2.4",
                                 ["-c:v", "ffv1", "-g", "4", "-pix_fmt", "yuv420p"])
        var settings = JobSettings(input: src, output: media.path("out.mkv"), size: .scale(2))
        settings.segmentSeconds = 0.4
        settings.encoder.codec = "ffv1"

        // The reference: the same settings in one pass.
        var onePass = settings
        onePass.segmented = false
        onePass.output = media.path("one.mkv")
        let reference = try UpscaleJob(plan: try JobPlan(onePass)).run()
        #expect(reference.framesEncoded == 24 && !reference.interrupted)

        // A graceful stop once 6 frames are out: the current segment is cut after its last
        // encoded frame, and what is done is joined into a playable partial file.
        let control = JobControl()
        let first = UpscaleJob(plan: try JobPlan(settings))
        let stopped = try first.run(control: control, progress: { s in
            // once: a second request is a stop-now, which keeps nothing
            if s.framesDone >= 6 && !control.stopRequested { control.requestStop() }
        })
        #expect(stopped.interrupted)
        #expect(stopped.output == OutputStaging.partialPath(for: media.path("out.mkv")))
        let partialFrames = try Self.frameHashes(stopped.output)
        #expect(partialFrames.count == stopped.framesEncoded && stopped.framesEncoded >= 6 && stopped.framesEncoded < 24)
        #expect(FileManager.default.fileExists(atPath: first.workFolder.appendingPathComponent("state.json").path))
        #expect(!FileManager.default.fileExists(atPath: media.path("out.mkv")))

        // The rerun upscales only the frames left (progress reports every frame it encodes).
        let second = UpscaleJob(plan: try JobPlan(settings))
        var upscaledAgain = 0
        let resumed = try second.run(progress: { _ in upscaledAgain += 1 })
        #expect(!resumed.interrupted && resumed.output == media.path("out.mkv"))
        #expect(resumed.framesEncoded == 24)
        #expect(upscaledAgain == 24 - stopped.framesEncoded)
        #expect(try Self.frameHashes(resumed.output) == Self.frameHashes(reference.output))
        #expect(Array(try Self.frameHashes(reference.output).prefix(partialFrames.count)) == partialFrames)
        // The work folder is gone once the output is joined.
        #expect(!FileManager.default.fileExists(atPath: second.workFolder.path))
    }
}
