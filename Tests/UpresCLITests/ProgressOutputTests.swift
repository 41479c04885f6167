import Foundation
import Testing

/// The front ends for pipes and scripts: plain lines on stderr, JSON Lines events.
@Suite("Progress for pipes and scripts")
struct ProgressOutputTests {
    let fx = Fixtures.shared

    /// Every line of `text` as a JSON object with an `event` name and a `time`.
    func events(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            guard let event = object as? [String: Any], event["event"] is String, event["time"] is Double else {
                throw FixtureError("not an event: \(line)")
            }
            return event
        }
    }

    @Test("JSON events: every line parses, in order, and the counts add up")
    func jsonBatch() throws {
        let s = try Scratch()
        let a = try s.copy(fx.path("cfr.mp4"))
        let b = try s.copy(fx.path("vfr.mkv"))
        let r = try Upres.run([a, "missing.mp4", b, "--progress", "json", "--progress-interval", "0.01"], cwd: s.path)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("upres: error: missing.mp4: no such file"), "human messages stay on stderr: \(r.stderr)")
        let all = try events(r.stdout)
        let names = all.map { $0["event"] as! String }
        #expect(names.first == "start" && names.last == "summary", "\(names)")
        #expect(names.filter { $0 == "summary" }.count == 1)
        #expect(Set(names) == ["start", "progress", "file_done", "error", "summary"])
        let times = all.map { $0["time"] as! Double }
        #expect(times == times.sorted())

        // Per job: start, progress..., then file_done or error.
        var lastProgress: [Int: [String: Any]] = [:]
        var done: [[String: Any]] = []
        for e in all {
            let job = e["job"] as? Int
            switch e["event"] as! String {
            case "start":
                #expect(job != nil && e["jobs"] as? Int == 3)
                #expect((e["streams"] as? [[String: Any]])?.contains { $0["upscaled"] as? Bool == true } == true)
                if (e["input"] as? String) == a { #expect(e["frames_expected"] as? Int == 48) }
            case "progress":
                lastProgress[e["job_index"] as! Int] = e
                for key in ["frames_done", "frames_total", "elapsed", "fps", "average_fps", "eta", "bytes_written",
                            "classes_total", "classes_last_frame", "stage_seconds", "queue_depths", "worker_busy",
                            "last_frame_map", "paused", "stopping", "input", "output", "model"] {
                    #expect(e.keys.contains(key), "progress lacks \(key): \(e.keys.sorted())")
                }
                #expect((e["classes_total"] as? [String: Int]).map { Set($0.keys) }
                        == ["static", "flat", "easy", "medium", "hard"])
            case "file_done":
                done.append(e)
                let last = try #require(lastProgress[job!], "a progress event before file_done")
                #expect(e["frames"] as? Int == last["frames_done"] as? Int, "file_done frames = last progress frames")
                let out = try #require(e["output"] as? String)
                #expect(e["status"] as? String == "done" && e["exit_status"] as? Int == 0)
                #expect(e["frames"] as? Int == (try Probe.frameCount(out)))
                let size = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.intValue
                #expect(e["size"] as? Int == size)
                #expect((e["duration"] as? Double).map { $0 > 1.5 } == true, "\(e)")
                #expect((e["wall_time"] as? Double).map { $0 > 0 } == true)
            case "error":
                #expect(e["file"] as? String == "missing.mp4" && e["message"] as? String == "no such file")
                #expect(job == 2)
            default:
                break
            }
        }
        let summary = all.last!
        let n = { (k: String) in summary[k] as? Int ?? -1 }
        #expect(n("files") == 3 && n("done") == 2 && n("failed") == 1 && n("interrupted") == 0 && n("skipped") == 0)
        #expect(n("done") + n("failed") + n("interrupted") + n("skipped") == n("files"))
        #expect(n("frames") == done.reduce(0) { $0 + ($1["frames"] as! Int) })
        #expect(n("bytes") == done.reduce(0) { $0 + ($1["size"] as! Int) })
        #expect(Int32(n("exit_status")) == r.status)
    }

    @Test("--progress-file takes the events; stdout stays empty")
    func progressFile() throws {
        let s = try Scratch()
        let a = try s.copy(fx.path("cfr.mp4"))
        let r = try Upres.run([a, "--progress", "json", "--progress-file", "events.jsonl"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let all = try events(try String(contentsOfFile: s.file("events.jsonl"), encoding: .utf8))
        #expect(all.map { $0["event"] as! String }.filter { $0 != "progress" } == ["start", "file_done", "summary"])
        #expect(all.contains { $0["event"] as? String == "progress" })
        #expect(all.last?["done"] as? Int == 1)
    }

    @Test("Plain progress: periodic lines, a summary per file and one for the batch")
    func plain() throws {
        let s = try Scratch()
        let a = try s.copy(fx.path("cfr.mp4"))
        let b = try s.copy(fx.path("cfr.mp4"), as: "second.mp4")
        let r = try Upres.run([a, b, "--progress", "plain", "--progress-interval", "0.01"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        let progress = lines.filter { $0.hasPrefix("upres: frame ") }
        #expect(!progress.isEmpty, "\(r.stderr)")
        for l in progress {
            #expect(l.range(of: #"^upres: frame \d+/48 \((100|\d+\.\d)%\)  [\d.]+ fps  ETA \d+:\d\d  elapsed \d+:\d\d  "#,
                            options: .regularExpression) != nil, "\(l)")
        }
        #expect(lines.filter { $0.hasPrefix("upres: done: ") && $0.contains("48 frames") }.count == 2, "\(r.stderr)")
        #expect(lines.last?.hasPrefix("upres: 2 files: 2 done, 0 failed, 0 interrupted, 0 skipped; 96 frames") == true,
                "\(r.stderr)")
    }

    @Test("--progress none and -q print only problems")
    func quiet() throws {
        let s = try Scratch()
        let a = try s.copy(fx.path("cfr.mp4"))
        for flags in [["--progress", "none"], ["-q", "--overwrite"]] {
            let r = try Upres.run([a] + flags, cwd: s.path)
            #expect(r.status == 0 && r.stderr.isEmpty && r.stdout.isEmpty, "\(flags): \(r.stderr)")
        }
    }

    @Test("Progress options are checked", arguments: [
        (["-q", "--progress", "json"], "either -q/--quiet or --progress json"),
        (["--progress-file", "x.jsonl"], "--progress-file needs --progress json"),
        (["--progress-interval", "0"], "--progress-interval must be more than 0"),
        (["--progress", "fancy"], "fancy"),
    ])
    func badOptions(_ args: [String], _ message: String) throws {
        let s = try Scratch()
        let r = try Upres.run([try s.copy(fx.path("cfr.mp4"))] + args, cwd: s.path)
        #expect(r.status == 2)
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(s.listing == ["cfr.mp4"])
    }
}
