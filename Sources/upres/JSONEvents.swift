import Foundation
import Synchronization
import UpresKit
import UpresMedia

/// `--progress json`: one JSON object per line for scripts, on stdout or `--progress-file`.
/// Every object has `event` (start, progress, file_done, error, summary) and `time` (Unix
/// seconds); the schema is in the man page (Upscale's discussion). Human messages (warnings,
/// errors) still go to stderr, so stdout carries JSON only.
final class JSONEvents: ProgressFrontEnd {
    private let out: FileHandle
    private let interval: Double
    private let warnings = WarningPrinter()
    private struct State {
        var lastEmit = Date.distantPast
        var last: PipelineStats? = nil       // the newest snapshot of the current job
        var lastEmittedFrames: Int? = nil
        var index = 1
        var count = 1
    }
    private let state = Mutex(State())

    init(output: FileHandle, interval: Double) {
        out = output
        self.interval = interval
    }

    // MARK: - Events

    func jobStarting(input: String, index: Int, count: Int) {
        state.withLock { $0 = State(index: index, count: count) }
    }

    func jobStarted(_ job: UpscaleJob, _ stats: PipelineStats) {
        warnings.started(job)
        let (index, count) = state.withLock { s in
            s.last = stats
            return (s.index, s.count)
        }
        let expected = job.expectedFrames
        emit("start", [
            "job": index, "jobs": count,
            "input": job.settings.input, "output": job.outputPath,
            "streams": streams(of: job),
            "frames_expected": expected.map { $0.count as Any } ?? NSNull(),
            "frames_expected_exact": expected?.exact ?? false,
            "input_width": Int(job.sourceFormat.width), "input_height": Int(job.sourceFormat.height),
            "output_width": Int(job.encodeFormat.width), "output_height": Int(job.encodeFormat.height),
            "model": stats.model, "precision": stats.precision,
            "encoder": job.encoding.encoderName,
        ])
    }

    func progress(_ stats: PipelineStats) {
        let now = Date()
        let due = state.withLock { s -> Bool in
            s.last = stats
            guard s.lastEmittedFrames == nil || now.timeIntervalSince(s.lastEmit) >= interval else { return false }
            s.lastEmit = now
            s.lastEmittedFrames = stats.framesDone
            return true
        }
        if due { emitProgress(stats) }
    }

    func jobFinished(_ r: JobResult) {
        warnings.finished(r)
        if r.interrupted { Diagnostics.write("upres: " + JobFacts.stoppedLine(r)) }
        // The last snapshot always goes out, so the final progress event matches file_done.
        let (index, pending) = state.withLock { s -> (Int, Bool) in (s.index, s.lastEmittedFrames != r.stats.framesDone) }
        if pending { emitProgress(r.stats) }
        let duration = StandardStream.isPipe(r.output) ? nil : (try? InputFile(path: r.output))?.durationSeconds
        emit("file_done", [
            "job": index, "input": r.stats.input, "output": r.output,
            "status": r.interrupted ? "interrupted" : "done",
            "exit_status": Int(r.interrupted ? ExitStatus.interrupted : ExitStatus.success),
            "frames": r.framesEncoded,
            "duration": duration.map { $0 as Any } ?? NSNull(),
            "size": JobFacts.size(of: r.output).map { $0 as Any } ?? NSNull(),
            "wall_time": r.elapsed,
            "classes": Self.classes(r.stats.classesTotal),
            "warnings": r.warnings,
        ])
    }

    func jobFailed(input: String, error: Error) {
        Diagnostics.error("\(error)")
        let file = (error as? JobError)?.file ?? input
        let message = (error as? JobError)?.message ?? "\(error)"
        emit("error", ["job": state.withLock { $0.index }, "input": input, "file": file, "message": message])
    }

    func jobAbandoned(input: String) {
        Diagnostics.error("\(input): interrupted; no output written")
        let (index, last) = state.withLock { ($0.index, $0.last) }
        emit("file_done", [
            "job": index, "input": input, "output": NSNull(), "status": "abandoned",
            "exit_status": Int(ExitStatus.interrupted), "frames": 0, "duration": NSNull(), "size": NSNull(),
            "wall_time": last?.elapsed ?? 0, "classes": Self.classes(last?.classesTotal ?? ClassCounts()),
            "warnings": [String](),
        ])
    }

    func batchFinished(_ s: BatchSummary) {
        emit("summary", [
            "files": s.files, "done": s.done, "failed": s.failed, "interrupted": s.interrupted,
            "skipped": s.skipped, "frames": s.frames, "bytes": s.bytes, "wall_time": s.wallTime,
            "classes": Self.classes(s.classes), "exit_status": Int(s.exitStatus),
        ])
    }

    // MARK: - Encoding

    /// Every PipelineStats field in snake_case, with class counts by name and unknown values
    /// as null, so the event follows the snapshot type as it grows.
    private func emitProgress(_ snapshot: PipelineStats) {
        var stats = snapshot
        // What only the batch loop and the stop/pause requests know.
        (stats.jobIndex, stats.jobCount) = state.withLock { ($0.index, $0.count) }
        stats.paused = Interrupts.control.paused
        stats.stopping = Interrupts.requested
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(stats),
              var fields = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return }
        for key in ["frames_total", "eta", "bitrate", "estimated_final_bytes"] where fields[key] == nil {
            fields[key] = NSNull()
        }
        for (key, value) in fields where value as? String == "inf" || value as? String == "-inf" || value as? String == "nan" {
            fields[key] = NSNull()
        }
        fields["classes_total"] = Self.classes(stats.classesTotal)
        fields["classes_last_frame"] = Self.classes(stats.classesLastFrame)
        fields["last_frame_map"] = stats.lastFrameMap.map(\.name)
        emit("progress", fields)
    }

    static func classes(_ c: ClassCounts) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: TileClass.allCases.map { ($0.name, c[$0]) })
    }

    private func streams(of job: UpscaleJob) -> [[String: Any]] {
        (0..<job.input.streamCount).map { i in
            [
                "index": i,
                "type": job.input.mediaTypeName(stream: i),
                "codec": job.input.codecName(stream: i),
                "upscaled": i == job.videoStream,
            ]
        }
    }

    /// One line: `{"event":"...","time":...,` then the fields in sorted order.
    private func emit(_ event: String, _ fields: [String: Any]) {
        guard let body = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return
        }
        var line = "{\"event\":\"\(event)\",\"time\":\(String(format: "%.3f", Date().timeIntervalSince1970))"
        let rest = String(decoding: body, as: UTF8.self).dropFirst()   // without its "{"
        line += rest == "}" ? "}" : "," + rest
        try? out.write(contentsOf: Data((line + "\n").utf8))   // a closed pipe must not crash the run
    }
}
