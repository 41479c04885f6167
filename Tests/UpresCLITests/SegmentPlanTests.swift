import Foundation
import Testing

/// `--segments N --segment K` for real schedulers: the planning figures of `--dry-run`, and a
/// segment run that resumes from its last finished part after SIGKILL (a requeued task).
@Suite("Segments: plan and resume", .serialized)
struct SegmentPlanTests {
    /// A row of the dry run's segment table: number, start, end, first and last frame, count.
    struct Row: Equatable {
        var k: Int, start: Double, end: Double, first: Int, last: Int, frames: Int, estimate: String
    }

    static func rows(_ stdout: String) -> (rows: [Row], empty: [Int]) {
        var rows: [Row] = [], empty: [Int] = []
        for line in stdout.split(separator: "\n") {
            let cols = line.split(separator: " ").map(String.init)
            guard cols.count >= 2, let k = Int(cols[0]) else { continue }
            if cols[1] == "empty:" { empty.append(k); continue }
            let range = cols[3].split(separator: "-").compactMap { Int($0) }
            guard cols.count == 6, range.count == 2, let start = Double(cols[1]), let end = Double(cols[2]),
                  let frames = Int(cols[4]) else { continue }
            rows.append(Row(k: k, start: start, end: end, first: range[0], last: range[1], frames: frames, estimate: cols[5]))
        }
        return (rows, empty)
    }

    /// Presentation times of the clip's keyframes (ffprobe, packet flags).
    static func keyframeTimes(_ file: String) throws -> [Double] {
        let packets = try Probe.json(file, ["-select_streams", "v:0", "-show_entries", "packet=pts_time,flags"])["packets"]
            as? [[String: Any]] ?? []
        return packets.filter { ($0["flags"] as? String)?.hasPrefix("K") == true }
            .compactMap { ($0["pts_time"] as? String).flatMap(Double.init) }
    }

    @Test("--dry-run --segments N: boundaries at keyframes, frames per segment matching the runs, a time per segment")
    func dryRunPlan() throws {
        let s = try Scratch()
        let input = try s.copy(ResumeTests.clip)
        let r = try Upres.run(["--dry-run", "--segments", "3", input, "-o", s.file("out.mkv"), "--threads", "1"],
                              cwd: s.path, network: true)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.listing == ["clip.mkv"], "a dry run writes nothing")
        let (rows, empty) = Self.rows(r.stdout)
        #expect(rows.count == 3 && empty.isEmpty, "\(r.stdout)")
        #expect(rows.map(\.k) == [1, 2, 3])
        #expect(rows.map(\.frames).reduce(0, +) == 384)
        #expect(rows.first?.first == 0 && rows.last?.last == 383)
        for (a, b) in zip(rows, rows.dropFirst()) {
            #expect(b.first == a.last + 1 && abs(b.start - a.end) < 1e-6, "contiguous: \(a) \(b)")
        }
        let keys = try Self.keyframeTimes(input)
        for row in rows {
            #expect(keys.contains { abs($0 - row.start) < 0.002 }, "segment \(row.k) starts at a keyframe (\(row.start))")
            #expect(row.last - row.first + 1 == row.frames)
            #expect(row.estimate.range(of: #"^\d+:\d\d$"#, options: .regularExpression) != nil, "estimate \(row.estimate)")
        }
        #expect(r.stdout.contains("with 1 thread (--threads)"), "\(r.stdout)")

        // The plan is what the segment runs do.
        for row in rows {
            let run = try Upres.run([input, "-o", s.file("out.mkv"), "--segments", "3", "--segment", "\(row.k)",
                                     "--codec", "ffv1", "-q"], cwd: s.path)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("segment \(row.k) of 3: \(row.frames) frames"), "\(run.stderr)")
        }

        // More segments than keyframes: the last ones are listed as empty.
        let many = try Upres.run(["--dry-run", "--segments", "40", input, "-o", s.file("x.mkv")], cwd: s.path)
        #expect(many.status == 0, "\(many.stderr)")
        let plan40 = Self.rows(many.stdout)
        #expect(plan40.rows.count == keys.count && plan40.empty == Array((keys.count + 1)...40), "\(many.stdout)")
        #expect(plan40.rows.map(\.frames).reduce(0, +) == 384)
        #expect(plan40.rows.allSatisfy { $0.estimate == "-" }, "no engine estimate for the classical upscaler")
    }

    @Test("--segments N without --segment K, join or --dry-run is refused")
    func segmentsAlone() throws {
        let s = try Scratch()
        let input = try s.copy(ResumeTests.clip)
        let r = try Upres.run([input, "-o", s.file("out.mkv"), "--segments", "3"], cwd: s.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains("--segment K"), "\(r.stderr)")
        #expect(s.listing == ["clip.mkv"])
    }

    @Test("a segment run killed with SIGKILL resumes from its last finished part; the file equals an uninterrupted run")
    func killedSegmentResumes() throws {
        let s = try Scratch()
        // Small and with a keyframe every 6 frames: the network upscaler (slow enough to be killed
        // between parts) in parts of 0.25 s.
        try Shell.ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration=4", "-c:v", "libx264", "-preset",
                          "ultrafast", "-g", "6", "in.mkv"], cwd: s.path)
        let args = ["--segments", "2", "--segment", "1", "--codec", "ffv1", "--segment-seconds", "0.25", "--threads", "1", "-q"]
        let reference = try Upres.run([s.file("in.mkv"), "-o", s.file("ref.mkv")] + args, cwd: s.path, network: true)
        #expect(reference.status == 0, "\(reference.stderr)")

        let p = try ResumeTests.start([s.file("in.mkv"), "-o", s.file("out.mkv")] + args, cwd: s.path)
        let state = s.file(".out.mkv.segment-1-of-2.upres/state.json")
        func done() -> [Bool] {
            guard let d = FileManager.default.contents(atPath: state),
                  let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return [] }
            return o["done"] as? [Bool] ?? []
        }
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline && !done().contains(true) { usleep(5_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let parts = done()
        #expect(parts.contains(true) && parts.contains(false), "killed between parts: \(parts)")
        #expect(!FileManager.default.fileExists(atPath: s.file("out.mkv.segment-1-of-2")), "no segment file yet")

        let resumed = try Upres.run([s.file("in.mkv"), "-o", s.file("out.mkv")] + args, cwd: s.path, network: true)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let doneFrames = parts.prefix { $0 }.count * 6
        #expect(resumed.stderr.contains("resuming: \(doneFrames) of 48 frames done by an earlier run"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("48 frames -> \(s.file("out.mkv.segment-1-of-2")) (\(doneFrames) resumed"), "\(resumed.stderr)")
        let a = FileManager.default.contents(atPath: s.file("out.mkv.segment-1-of-2"))
        let b = FileManager.default.contents(atPath: s.file("ref.mkv.segment-1-of-2"))
        #expect(a != nil && a == b, "the resumed segment file equals the uninterrupted one, byte for byte")
        #expect(!s.listing.contains(".out.mkv.segment-1-of-2.upres"), "work folder removed")

        // Run again (a requeued task whose segment is complete): nothing to do, success.
        let again = try Upres.run([s.file("in.mkv"), "-o", s.file("out.mkv")] + args, cwd: s.path, network: true)
        #expect(again.status == 0 && again.stderr.contains("done already"), "\(again.stderr)")
    }
}
