import Foundation
import UpresMedia

/// One segment of the split of an input into N (`--segments N`), for planning: where it starts
/// and ends, in seconds and in frames.
public struct SegmentPlanEntry: Sendable, Equatable {
    /// 1-based, as `--segment K`.
    public var number: Int
    /// Presentation times in seconds (the end is the next segment's start, or the video's end);
    /// nil for an empty segment (too few keyframes).
    public var start: Double?
    public var end: Double?
    /// The segment's first frame (0-based, in presentation order) and its frame count.
    public var firstFrame: Int
    public var frames: Int
}

// MARK: - Segments for many machines

extension UpscaleJob {
    /// Segment `k` (1-based) of `n`'s file: beside the output, `NAME.EXT.segment-K-of-N`.
    public func segmentPath(_ k: Int, of n: Int) -> String { "\(outputPath).segment-\(k)-of-\(n)" }

    /// Segment `k` of `n`'s work folder while it runs (its finished parts, the unit of resume):
    /// `.NAME.EXT.segment-K-of-N.upres/` beside the output.
    public func segmentWorkFolder(_ k: Int, of n: Int) -> URL {
        let url = URL(fileURLWithPath: segmentPath(k, of: n))
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).upres")
    }

    /// The deterministic split of the input into `n` segments: (start, end) pts per segment.
    func plan(_ index: KeyframeIndex, segments n: Int) -> [(start: Int64?, end: Int64?, frames: Int)] {
        let b = index.boundaries(count: n)
        var out: [(Int64?, Int64?, Int)] = []
        for i in 0..<n {
            let start: Int64? = i == 0 ? nil : (i - 1 < b.count ? b[i - 1] : Int64.max)
            let end: Int64? = i < b.count ? b[i] : nil
            let empty = i > b.count
            out.append((start, end, empty ? 0 : index.frames(from: start, to: end)))
        }
        return out
    }

    /// The split into `n` segments that every `--segments n --segment K` run makes (a keyframe scan,
    /// no decoding).
    public func segmentPlan(_ n: Int) throws -> [SegmentPlanEntry] {
        let index = try KeyframeIndex.scan(settings.input, stream: videoStream, plan: decodePlan)
        let tb = input.timeBase(stream: videoStream).doubleValue
        let rate = input.guessedFrameRate(stream: videoStream)
        let frameSeconds = rate.isPositive ? 1 / rate.doubleValue : 0
        let videoEnd = index.times.last.map { Double($0) * tb + frameSeconds }
        var first = 0
        return plan(index, segments: n).enumerated().map { i, p in
            defer { first += p.frames }
            guard p.frames > 0 else { return SegmentPlanEntry(number: i + 1, start: nil, end: nil, firstFrame: first, frames: 0) }
            let start = p.start.map { Double($0) * tb } ?? index.times.first.map { Double($0) * tb }
            return SegmentPlanEntry(number: i + 1, start: start, end: p.end.map { Double($0) * tb } ?? videoEnd,
                                    firstFrame: first, frames: p.frames)
        }
    }

    /// Processes only segment `k` (1-based) of `n` (frame-accurate, keyframe-aligned, the same split
    /// on every machine) into `segmentPath(k, of: n)`; `upres join` assembles the output.
    ///
    /// With `settings.segmented` (the default) the segment is done in parts of `segmentSeconds` in
    /// `segmentWorkFolder(k, of: n)`: a run killed or stopped resumes from its last finished part
    /// (`resuming` is told how many of the segment's frames are done already); the segment file
    /// appears, complete, only at the end. Without, one pass that keeps nothing when interrupted.
    /// A result with `interrupted` set means parts remain (rerun to resume).
    public func runSegment(_ k: Int, of n: Int, control: JobControl = JobControl(),
                           resuming: (_ done: Int, _ of: Int) -> Void = { _, _ in },
                           onStart: (PipelineStats) -> Void = { _ in },
                           progress: @escaping (PipelineStats) -> Void = { _ in }) throws -> JobResult {
        precondition(k >= 1 && k <= n, "segment \(k) of \(n)")
        let started = Date()
        let index = try KeyframeIndex.scan(settings.input, stream: videoStream, plan: decodePlan)
        let parts = plan(index, segments: n)
        let part = parts[k - 1]
        let target = segmentPath(k, of: n)
        guard part.frames > 0 else {
            var r = emptyResult(started)
            r.output = target
            r.warnings.append("segment \(k) of \(n) is empty: the input has too few keyframes for \(n) segments")
            return r
        }
        let before = parts[..<(k - 1)].map(\.frames).reduce(0, +)
        let total = parts.map(\.frames).reduce(0, +)
        guard settings.segmented else {
            let spec = SegmentSpec(start: part.start, end: part.end, path: target, framesBefore: before, framesAtStart: 0,
                                   framesTotal: total, jobStarted: started)
            let r = try runPass(segment: spec, control: control, onStart: onStart, progress: progress)
            if r.interrupted {
                // A cut segment is not segment k: nothing is kept, a rerun does it whole.
                try? FileManager.default.removeItem(atPath: target)
                throw JobInterrupted()
            }
            return r
        }

        let work = segmentWorkFolder(k, of: n)
        let (lock, saved) = try openWork(work, target: target, key: settingsKey + "|segment \(k) of \(n)") {
            partPlan(index, start: part.start, end: part.end)
        }
        var state = saved
        let resumed = zip(state.done, state.frames).filter(\.0).map(\.1).reduce(0, +)
        if resumed > 0 { resuming(resumed, state.frames.reduce(0, +)) }
        let (last, passWarnings) = try runParts(&state, work: work, start: part.start, end: part.end, framesBefore: before,
                                                framesTotal: total, started: started, control: control,
                                                onStart: onStart, progress: progress)
        var r = last ?? emptyResult(started)
        r.framesResumed = resumed
        r.warnings = warnings + passWarnings
        r.elapsed = Date().timeIntervalSince(started)
        guard state.done.allSatisfy({ $0 }) else {
            r.output = work.path
            r.framesEncoded = zip(state.done, state.frames).filter(\.0).map(\.1).reduce(0, +)
            r.framesExpected = state.frames.reduce(0, +)
            r.interrupted = true
            return r
        }
        // Every part done: one segment file, the parts' packets in order, renamed into place.
        let files = state.done.indices.map { segmentURL(work, $0) }
        let staging = try OutputStaging(finalPath: target, overwrite: true)
        do {
            try SegmentFileReader.concatenate(files, into: staging.writePath)
            try staging.commit()
        } catch {
            staging.discard()
            throw error
        }
        withExtendedLifetime(lock) {}
        try? removeSegments(work)
        try? FileManager.default.removeItem(at: work)
        r.output = target
        r.framesEncoded = state.frames.reduce(0, +)
        r.framesExpected = r.framesEncoded
        r.interrupted = false
        return r
    }

    /// Joins the `n` segment files (made by `runSegment` anywhere, with the same settings) with the
    /// source's other streams into the output. Empty segments of the plan need no file.
    public func joinSegments(_ n: Int) throws -> JobResult {
        let started = Date()
        let parts = plan(try KeyframeIndex.scan(settings.input, stream: videoStream, plan: decodePlan), segments: n)
        var files: [URL] = []
        for (i, part) in parts.enumerated() where part.frames > 0 {
            let path = segmentPath(i + 1, of: n)
            guard FileManager.default.fileExists(atPath: path) else {
                let running = FileManager.default.fileExists(atPath: segmentWorkFolder(i + 1, of: n).path)
                throw JobError(file: outputPath, message: "segment \(i + 1) of \(n) is missing (\(path)"
                               + (running ? "; unfinished parts are in \(segmentWorkFolder(i + 1, of: n).path)" : "")
                               + "); run it with --segments \(n) --segment \(i + 1)")
            }
            files.append(URL(fileURLWithPath: path))
        }
        let j = try joinStaged(files, target: outputPath, overwrite: settings.overwrite, partial: false)
        var r = emptyResult(started)
        r.framesEncoded = j.frames
        r.framesDecoded = j.frames
        r.copiedStreams = j.copied
        r.warnings += j.warnings
        return r
    }
}
