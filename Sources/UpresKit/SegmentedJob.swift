import Foundation
import UpresMedia

extension UpscaleJob {
    /// Video outputs are written in segments (the unit of resume); images, image sequences,
    /// pipes (read or written once, in order) and raw frames (YUV4MPEG's packets point at
    /// frames in memory) in one pass.
    var usesSegments: Bool {
        settings.segmented && !OutputNaming.isSequencePattern(outputPath)
            && !["image2", "image2pipe"].contains(plan.encoding.muxerName)
            && !StandardStream.isPipe(settings.input) && !StandardStream.isPipe(outputPath)
            && !plan.encoding.isWrappedFrame
    }

    /// The job's work folder beside the output: `.NAME.upres/` (state, lock, segments).
    public var workFolder: URL {
        let url = URL(fileURLWithPath: outputPath)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).upres")
    }

    /// Everything that changes the output's bytes, so a resumed job never mixes settings.
    var settingsKey: String {
        var parts = [settings.upscaler.identity, "\(upscaledFormat.width)x\(upscaledFormat.height)",
                     "\(encodeFormat.width)x\(encodeFormat.height)", PixelFormat.name(encodeFormat.pixelFormat),
                     plan.encoding.encoderName, plan.encoding.muxerName,
                     "seg\(settings.segmentSeconds)"]
        if !decodePlan.identity.isEmpty { parts.append(decodePlan.identity) }
        let e = settings.encoder
        parts += ["crf=\(e.crf.map(String.init) ?? "-")", "preset=\(e.preset ?? "-")",
                  e.options.map { "\($0.0)=\($0.1)" }.joined(separator: ",")]
        return parts.joined(separator: "|")
    }

    /// The lock and state of the work folder `work` (made if missing) of a resumable run that
    /// writes `target`: the saved state when input and settings (`key`) match, else a new plan
    /// (`plan`: the parts' boundaries and frame counts).
    func openWork(_ work: URL, target: String, key: String,
                  plan: () throws -> (boundaries: [Int64], frames: [Int], jumpsBack: Bool)) throws -> (JobLock, JobState) {
        if mkdir(work.path, 0o755) != 0 && errno != EEXIST {
            throw JobError(file: target, action: "cannot write in \(OutputGuard.folder(of: target))", systemError: errno)
        }
        let lock = try JobLock(work.appendingPathComponent("lock"), output: target)
        let stateURL = work.appendingPathComponent("state.json")
        let fingerprint: String
        do { fingerprint = try InputFingerprint.of(settings.input) } catch { throw discard(work, after: error) }
        if let old = JobState.load(stateURL), !settings.restart {
            var changed: [String] = []
            if old.fingerprint != fingerprint { changed.append("the input file changed") }
            if old.settings != key { changed.append("the settings differ") }
            if !changed.isEmpty {
                throw JobError(file: target, message: "a previous run left a resumable job in \(work.path), but "
                               + changed.joined(separator: " and ") + "; rerun with the same input and settings to "
                               + "resume, or add --restart to start over")
            }
            return (lock, old)
        }
        if settings.restart { try? removeSegments(work) }
        do {
            let p = try plan()
            var state = JobState(input: settings.input, fingerprint: fingerprint, settings: key, boundaries: p.boundaries,
                                 done: Array(repeating: false, count: p.frames.count), frames: p.frames)
            state.timesJumpBack = p.jumpsBack
            try state.save(stateURL)
            return (lock, state)
        } catch { throw discard(work, after: error) }
    }

    /// A job that fails for good leaves no work folder; one stopped, or failed for a reason a
    /// rerun can get past (a full disk...), keeps its finished segments (`WorkFolderPolicy`).
    func discard(_ work: URL, after error: Error) -> Error {
        if WorkFolderPolicy.discards(work, after: error) { try? FileManager.default.removeItem(at: work) }
        return error
    }

    /// Parts of [start, end) at keyframes `segmentSeconds` apart at least: boundaries and frame counts.
    func partPlan(_ index: KeyframeIndex, start: Int64? = nil, end: Int64? = nil) -> (boundaries: [Int64], frames: [Int], jumpsBack: Bool) {
        let b = index.boundaries(every: settings.segmentSeconds, timeBase: input.timeBase(stream: videoStream),
                                 from: start, to: end)
        let starts: [Int64?] = [start] + b.map { $0 }
        let ends: [Int64?] = b.map { $0 } + [end]
        return (b, zip(starts, ends).map { index.frames(from: $0, to: $1) }, index.jumpsBack)
    }

    /// Runs the parts of `state` a previous run did not finish, each into its file in `work`,
    /// saving the state after each. The parts cover [start, end); `framesBefore` frames of the
    /// job come before them, of `framesTotal` (progress). A graceful stop cuts the part it is in
    /// after its last encoded frame (the rest becomes a part of its own).
    func runParts(_ state: inout JobState, work: URL, start: Int64? = nil, end: Int64? = nil, framesBefore: Int = 0,
                  framesTotal: Int? = nil, started: Date, control: JobControl, onStart: (PipelineStats) -> Void,
                  progress: @escaping (PipelineStats) -> Void) throws -> (last: JobResult?, warnings: [String]) {
        let stateURL = work.appendingPathComponent("state.json")
        let total = framesTotal ?? state.frames.reduce(0, +)
        let framesAtStart = framesBefore + zip(state.done, state.frames).filter(\.0).map(\.1).reduce(0, +)
        var startNotified = false
        var last: JobResult? = nil
        var passWarnings: [String] = []
        for i in state.done.indices where !state.done[i] {
            if control.stopRequested { break }
            let spec = SegmentSpec(start: i == 0 ? start : state.boundaries[i - 1],
                                   end: i < state.boundaries.count ? state.boundaries[i] : end,
                                   path: segmentURL(work, i).path,
                                   framesBefore: framesBefore + state.frames[..<i].reduce(0, +), framesAtStart: framesAtStart,
                                   framesTotal: total, jobStarted: started)
            let r: JobResult
            do {
                r = try runPass(segment: spec, control: control, onStart: { s in
                    if !startNotified { startNotified = true; onStart(s) }
                }, progress: progress)
            } catch {
                throw discard(work, after: error)
            }
            passWarnings.append(contentsOf: r.warnings.filter { !passWarnings.contains($0) && !warnings.contains($0) })
            if r.interrupted && state.timesJumpBack == true {
                // No time to cut at: the segment is redone whole by the rerun.
                try? FileManager.default.removeItem(at: segmentURL(work, i))
                last = r
                break
            }
            if r.interrupted, let cut = r.lastFramePts.map({ $0 + 1 }), r.framesEncoded > 0,
               r.framesEncoded < state.frames[i], spec.end.map({ cut < $0 }) ?? true {
                // A graceful stop cut this segment short after its last encoded frame: split it,
                // the rest becomes a segment of its own that a rerun starts with. (A stop that
                // came after the segment's last frame but before the pass saw the next one
                // leaves nothing to cut: the segment is done.)
                state.boundaries.insert(cut, at: i)
                state.done.insert(true, at: i)
                state.frames.insert(r.framesEncoded, at: i)
                state.frames[i + 1] = max(0, state.frames[i + 1] - r.framesEncoded)
                try FileManager.default.moveItem(at: segmentURL(work, i), to: segmentURL(work, i, cut: true))
                try renumber(work, count: state.done.count, cutAt: i)
            } else {
                state.done[i] = true
                state.frames[i] = r.framesEncoded
            }
            try state.save(stateURL)
            last = r
            if r.interrupted { break }
        }
        if !startNotified {
            var s = PipelineStats()
            s.input = settings.input
            s.output = outputPath
            onStart(s)
        }
        return (last, passWarnings)
    }

    /// Segments into the work folder (skipping those a previous run finished), then the join:
    /// segments stream-copied with the source's other streams into the output.
    func runSegmented(control: JobControl, onStart: (PipelineStats) -> Void,
                      progress: @escaping (PipelineStats) -> Void) throws -> JobResult {
        let started = Date()
        let fm = FileManager.default
        let work = workFolder
        let (lock, saved) = try openWork(work, target: outputPath, key: settingsKey) {
            partPlan(try KeyframeIndex.scan(settings.input, stream: videoStream, plan: decodePlan))
        }
        var state = saved
        let (last, passWarnings) = try runParts(&state, work: work, started: started, control: control,
                                                onStart: onStart, progress: progress)
        let finished = state.done.allSatisfy { $0 }
        let doneCount = state.done.prefix { $0 }.count
        let files = (0..<doneCount).map { segmentURL(work, $0) }
        if !finished {
            // Stopped between segments: the job resumes from here; what is done so far is also
            // joined into a playable NAME.partial file.
            guard !files.isEmpty else { throw JobInterrupted() }
            let partial = OutputStaging.partialPath(for: outputPath)
            let j = try joinStaged(files, target: partial, overwrite: true, partial: true)
            var r = last ?? emptyResult(started)
            r.output = partial
            r.framesEncoded = j.frames
            r.copiedStreams = j.copied
            r.interrupted = true
            r.elapsed = Date().timeIntervalSince(started)
            return r
        }
        let j: (frames: Int, copied: Int, warnings: [String])
        do { j = try joinStaged(files, target: outputPath, overwrite: settings.overwrite, partial: false) }
        catch { throw discard(work, after: error) }
        withExtendedLifetime(lock) {}
        try? removeSegments(work)
        try? fm.removeItem(at: work)
        var r = last ?? emptyResult(started)
        r.output = outputPath
        r.framesEncoded = j.frames
        r.framesDecoded = j.frames
        r.copiedStreams = j.copied
        r.elapsed = Date().timeIntervalSince(started)
        r.warnings = warnings + passWarnings + j.warnings
        return r
    }

    func segmentURL(_ work: URL, _ i: Int, cut: Bool = false) -> URL {
        work.appendingPathComponent(String(format: cut ? "segment-%05d.cut" : "segment-%05d.seg", i))
    }

    /// After segment `i` was split in two, files i+1... move up by one and the cut part becomes i.
    private func renumber(_ work: URL, count: Int, cutAt i: Int) throws {
        let fm = FileManager.default
        for k in stride(from: count - 2, through: i + 1, by: -1) where fm.fileExists(atPath: segmentURL(work, k).path) {
            try fm.moveItem(at: segmentURL(work, k), to: segmentURL(work, k + 1))
        }
        try fm.moveItem(at: segmentURL(work, i, cut: true), to: segmentURL(work, i))
    }

    func removeSegments(_ work: URL) throws {
        for f in try FileManager.default.contentsOfDirectory(atPath: work.path) where f.hasPrefix("segment-") || f.hasPrefix("state") {
            try FileManager.default.removeItem(at: work.appendingPathComponent(f))
        }
    }

    func emptyResult(_ started: Date) -> JobResult {
        JobResult(output: outputPath, framesDecoded: 0, framesEncoded: 0, framesExpected: nil,
                  inputSize: (sourceFormat.width, sourceFormat.height), outputSize: (encodeFormat.width, encodeFormat.height),
                  encoder: plan.encoding.encoderName, pixelFormat: PixelFormat.name(encodeFormat.pixelFormat),
                  copiedStreams: 0, elapsed: Date().timeIntervalSince(started), warnings: warnings)
    }
}
