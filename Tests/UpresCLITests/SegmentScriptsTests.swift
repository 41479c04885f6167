import Foundation
import Testing

/// The scripts users copy from docs/segments.md, run as written where this machine allows it:
/// the doc shows the files verbatim, the xargs script runs locally, the Kubernetes manifests are
/// parsed, checked and their container commands run for every completion index. (The Slurm
/// scripts run on a live cluster in `make test-slurm`, scripts/test-slurm.sh.)
@Suite("Segments: the documented scripts", .serialized)
struct SegmentScriptsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let scripts = ["slurm/submit.sh", "slurm/upres-array.sbatch", "slurm/upres-join.sbatch",
                          "kubernetes/upres-segments.yaml", "kubernetes/upres-join.yaml", "xargs/upres-segments.sh"]
    static let options = "--codec ffv1 --upscaler lanczos"

    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
    }

    /// A one-machine run and a joined result are the same video: frames, times, audio packets.
    static func expectSame(_ out: String, _ reference: String) throws {
        #expect(try Probe.framePTS(out) == Probe.framePTS(reference))
        #expect(try ResumeTests.frameHashes(out) == ResumeTests.frameHashes(reference))
        #expect(try Probe.packetHashes(out, stream: "a:0") == Probe.packetHashes(reference, stream: "a:0"))
    }

    @Test("docs/segments.md shows each script file verbatim")
    func docShowsTheFiles() throws {
        let doc = try Self.text("docs/segments.md")
        for path in Self.scripts {
            let body = try Self.text("docs/\(path)")
            let lang = path.hasSuffix(".yaml") ? "yaml" : path.hasSuffix(".sbatch") ? "bash" : "sh"
            #expect(doc.contains("`docs/\(path)`"), "the doc names \(path)")
            #expect(doc.contains("```\(lang)\n\(body)```\n"), "docs/segments.md shows docs/\(path) as it is")
        }
    }

    @Test("the xargs -P script, run locally as written, equals a one-machine run")
    func xargsScript() throws {
        let s = try Scratch()
        _ = try s.copy(ResumeTests.clip, as: "in.mkv")
        let one = try Upres.run([s.file("in.mkv"), "-o", s.file("one.mkv")] + Self.options.split(separator: " ").map(String.init),
                                cwd: s.path)
        #expect(one.status == 0, "\(one.stderr)")
        let r = try Shell.run("/bin/sh", ["\(Self.root)/docs/xargs/upres-segments.sh"], cwd: s.path, environment: [
            "SHARED": s.path, "INPUT": "in.mkv", "OUTPUT": "out.mkv", "SEGMENTS": "3", "JOBS": "2",
            "UPRES": Upres.binary, "UPRES_OPTIONS": Self.options, "HOSTS": ""])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("joined 3 segments"), "\(r.stderr)")
        try Self.expectSame(s.file("out.mkv"), s.file("one.mkv"))

        // A bad input stops at the segments (no retry of exit 1), and no join runs.
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: s.file("bad.mkv")))
        let bad = try Shell.run("/bin/sh", ["\(Self.root)/docs/xargs/upres-segments.sh"], cwd: s.path, environment: [
            "SHARED": s.path, "INPUT": "bad.mkv", "OUTPUT": "bad-out.mkv", "SEGMENTS": "2", "UPRES": Upres.binary])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("status 1 (attempt 1)") && !bad.stderr.contains("attempt 2"), "\(bad.stderr)")
        #expect(!s.listing.contains("bad-out.mkv"))
    }

    /// The manifests as JSON (python3 with PyYAML: Debian's python3-yaml, installed by make deps).
    static func manifest(_ path: String) throws -> [String: Any] {
        let r = try Shell.run(Shell.which("python3"), ["-c", "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
                                                       "\(root)/docs/\(path)"])
        guard r.status == 0, let docs = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]],
              docs.count == 1 else {
            throw FixtureError("\(path): not one YAML document, or no python3-yaml (make deps installs it): \(r.stderr)")
        }
        return docs[0]
    }

    /// The one container of a Job, its env as a dictionary, the claim mounted where.
    struct Pod {
        var spec: [String: Any], container: [String: Any], env: [String: String], command: [String], mounts: [String: String]
        init(_ job: [String: Any]) throws {
            let spec = job["spec"] as? [String: Any] ?? [:]
            let pod = (spec["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
            let containers = pod["containers"] as? [[String: Any]] ?? []
            guard containers.count == 1 else { throw FixtureError("one container expected") }
            self.spec = spec
            container = containers[0]
            env = Dictionary(uniqueKeysWithValues: (container["env"] as? [[String: Any]] ?? []).map {
                ($0["name"] as? String ?? "", $0["value"] as? String ?? "")
            })
            command = container["command"] as? [String] ?? []
            let claims = Dictionary(uniqueKeysWithValues: (pod["volumes"] as? [[String: Any]] ?? []).compactMap { v -> (String, String)? in
                guard let name = v["name"] as? String,
                      let claim = (v["persistentVolumeClaim"] as? [String: Any])?["claimName"] as? String else { return nil }
                return (name, claim)
            })
            // claim name -> mount path
            mounts = [:]
            for m in container["volumeMounts"] as? [[String: Any]] ?? [] {
                if let claim = claims[m["name"] as? String ?? ""], let path = m["mountPath"] as? String { mounts[claim] = path }
            }
            restartPolicy = pod["restartPolicy"] as? String
        }
        var restartPolicy: String?
    }

    @Test("the Kubernetes Indexed Job and join manifests: their fields, and their commands run for every index")
    func kubernetesManifests() throws {
        let segments = try Self.manifest("kubernetes/upres-segments.yaml")
        let join = try Self.manifest("kubernetes/upres-join.yaml")
        for job in [segments, join] {
            #expect(job["apiVersion"] as? String == "batch/v1" && job["kind"] as? String == "Job")
        }
        let seg = try Pod(segments), j = try Pod(join)
        let count = Int(seg.env["SEGMENTS"] ?? "") ?? 0
        #expect(count > 1)
        #expect(seg.spec["completionMode"] as? String == "Indexed")
        #expect(seg.spec["completions"] as? Int == count, "completions = SEGMENTS")
        let parallelism = seg.spec["parallelism"] as? Int ?? 0
        #expect(parallelism >= 1 && parallelism <= count)
        #expect((seg.spec["backoffLimitPerIndex"] as? Int ?? 0) >= 1)
        #expect(seg.restartPolicy == "Never" && j.restartPolicy == "Never", "backoffLimitPerIndex and podFailurePolicy need Never")
        let rules = (seg.spec["podFailurePolicy"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
        let failIndex = rules.first { $0["action"] as? String == "FailIndex" }?["onExitCodes"] as? [String: Any]
        #expect(failIndex?["containerName"] as? String == seg.container["name"] as? String)
        #expect(Set(failIndex?["values"] as? [Int] ?? []) == [1, 2], "bad input (1) and options (2) fail their index")
        let cpu = ((seg.container["resources"] as? [String: Any])?["requests"] as? [String: Any])?["cpu"] as? String
        #expect(cpu == seg.env["THREADS"], "--threads = the cpu request")
        #expect(seg.command.last?.contains("$((JOB_COMPLETION_INDEX + 1))") == true, "segments are 1-based")
        // The same claim, mounted at SHARED, and the same job variables in both.
        #expect(seg.mounts.count == 1 && seg.mounts == j.mounts, "\(seg.mounts) \(j.mounts)")
        #expect(seg.mounts.values.first == seg.env["SHARED"])
        for key in ["SHARED", "INPUT", "OUTPUT", "SEGMENTS", "UPRES_OPTIONS"] {
            #expect(seg.env[key] != nil && seg.env[key] == j.env[key], "\(key) is the same in both Jobs")
        }

        // Run the containers' commands here: the claim is a scratch folder, upres is on the PATH.
        let s = try Scratch()
        _ = try s.copy(ResumeTests.clip, as: seg.env["INPUT"] ?? "in.mkv")
        let bin = s.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(bin)/upres", withDestinationPath: Upres.binary)
        let output = s.file(seg.env["OUTPUT"] ?? "out.mkv")
        let one = try Upres.run([s.file(seg.env["INPUT"] ?? ""), "-o", s.file("one.mkv")]
                                + Self.options.split(separator: " ").map(String.init), cwd: s.path)
        #expect(one.status == 0, "\(one.stderr)")
        func run(_ pod: Pod, extra: [String: String]) throws -> RunResult {
            var env = pod.env.merging(extra) { $1 }
            env["SHARED"] = s.path
            env["UPRES_OPTIONS"] = Self.options
            env["PATH"] = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            return try Shell.run(Shell.which(pod.command[0]), Array(pod.command.dropFirst()), cwd: s.path, environment: env)
        }
        for index in 0..<count {
            let r = try run(seg, extra: ["JOB_COMPLETION_INDEX": "\(index)"])
            #expect(r.status == 0, "index \(index): \(r.stderr)")
            #expect(r.stderr.contains("segment \(index + 1) of \(count)"), "\(r.stderr)")
        }
        let r = try run(j, extra: [:])
        #expect(r.status == 0, "\(r.stderr)")
        try Self.expectSame(output, s.file("one.mkv"))
    }
}
