import Foundation
import Testing

/// Batches: folders, templates, skipping finished outputs, one failure not stopping the rest.
@Suite("Batch jobs")
struct BatchTests {
    let fx = Fixtures.shared

    func folder(_ s: Scratch) throws {
        try FileManager.default.createDirectory(atPath: s.file("in/sub"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fx.path("cfr.mp4"), toPath: s.file("in/a.mp4"))
        try FileManager.default.copyItem(atPath: fx.path("odd.mkv"), toPath: s.file("in/sub/b.mkv"))
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: s.file("in/broken.mkv")))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: s.file("in/notes.txt")))
    }

    @Test("a folder (--recursive) into -o outdir/ with --name; a rerun skips what is done; failures are counted")
    func folderBatch() throws {
        let s = try Scratch()
        try folder(s)
        let args = ["in", "--recursive", "-o", "out/", "--name", "{stem}.x{scale}.{ext}", "--progress", "plain"]
        let first = try Upres.run(args, cwd: s.path)
        #expect(first.status == 1, "one input failed: \(first.stderr)")
        #expect(first.stderr.contains("in/broken.mkv"))
        #expect(first.stderr.contains("3 files: 2 done, 1 failed"), "\(first.stderr)")
        let outs = try FileManager.default.contentsOfDirectory(atPath: s.file("out")).sorted()
        #expect(outs == ["a.x2.mp4", "b.x2.mkv"])
        #expect(try Probe.frameCount(s.file("out/a.x2.mp4")) == Probe.frameCount(s.file("in/a.mp4")))

        let before = try Data(contentsOf: URL(fileURLWithPath: s.file("out/a.x2.mp4")))
        let second = try Upres.run(args, cwd: s.path)
        #expect(second.status == 1)
        #expect(second.stderr.contains("skipped: in/a.mp4"), "\(second.stderr)")
        #expect(second.stderr.contains("0 done, 1 failed, 0 interrupted, 2 skipped"), "\(second.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.file("out/a.x2.mp4"))) == before, "skipped outputs untouched")
    }

    @Test("--dry-run lists inputs, outputs and frames and writes nothing")
    func dryRun() throws {
        let s = try Scratch()
        try folder(s)
        let r = try Upres.run(["in", "--recursive", "-o", "out/", "--dry-run"], cwd: s.path)
        #expect(r.status == 1, "the broken input is reported")
        #expect(r.stdout.contains("in/a.mp4 -> out/a.upres-x2.mp4"), "\(r.stdout)")
        #expect(r.stdout.contains("48 frames"), "\(r.stdout)")
        #expect(r.stdout.contains("fail  in/broken.mkv"))
        #expect(s.listing == ["in"])
    }

    @Test("quoted glob patterns expand; -o with several inputs must be a folder")
    func globs() throws {
        let s = try Scratch()
        try folder(s)
        let r = try Upres.run(["in/*.mp4", "-o", "out/"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.file("out")) == ["a.upres-x2.mp4"])
        let bad = try Upres.run(["in/a.mp4", "in/sub/b.mkv", "-o", "x.mkv"], cwd: s.path)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("folder"))
    }
}
