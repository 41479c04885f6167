import Foundation
import CFFmpeg
import UpresMedia

/// One segment's pass: the frames with `start <= pts < end` (source time base), video only,
/// into the segment file `path` (`SegmentFileWriter`).
struct SegmentSpec {    var start: Int64?
    var end: Int64?
    var path: String
    /// Frames of the segments before this one, and of those done before this process started.
    var framesBefore: Int
    var framesAtStart: Int
    var framesTotal: Int?
    var jobStarted: Date
}

/// The video stream's keyframes and packet times, read without decoding (a quick scan).
struct KeyframeIndex {
    var keyframes: [Int64] = []
    /// Presentation times of every video packet, sorted: frame counts per segment.
    var times: [Int64] = []
    /// Output frames per packet (2 when deinterlacing to one frame per field).
    var framesPerPacket = 1
    /// Decode times go back somewhere (a spliced or concatenated file): frames cannot be told
    /// apart by time, so the video is one segment (cut by no boundary, done in one pass).
    var jumpsBack = false

    static func scan(_ path: String, stream: Int) throws -> KeyframeIndex {
        let input = try InputFile(path: path)
        let packet = Packet()
        var index = KeyframeIndex()
        var lastDts: Int64? = nil
        reading: while true {
            switch input.read(into: packet) {
            case .endOfFile, .error: break reading
            case .packet: break
            }
            guard Int(packet.streamIndex) == stream else { continue }
            if packet.dts != noTimestamp {
                if let last = lastDts, packet.dts <= last { index.jumpsBack = true }
                lastDts = packet.dts
            }
            let t = packet.pts != noTimestamp ? packet.pts : packet.dts
            guard t != noTimestamp else { continue }
            index.times.append(t)
            if packet.isKey { index.keyframes.append(t) }
        }
        index.times.sort()
        index.keyframes.sort()
        return index
    }

    /// Segment boundaries at keyframes, every `seconds` of source at least (deterministic from
    /// the input). Segment i covers [b[i-1], b[i]); the first starts at the file's start, the
    /// last runs to its end. `from`, `to`: boundaries inside [from, to) only (parts of a segment).
    func boundaries(every seconds: Double, timeBase: AVRational, from: Int64? = nil, to: Int64? = nil) -> [Int64] {
        guard let first = from ?? times.first, !jumpsBack else { return [] }
        let step = Int64(max(1, seconds / av_q2d(timeBase)))
        var out: [Int64] = []
        var last = first
        for k in keyframes where k > first && k - last >= step && to.map({ k < $0 }) ?? true {
            out.append(k)
            last = k
        }
        return out
    }

    /// Boundaries for `count` segments of about equal frame counts, each at the first keyframe at
    /// or after its share (fewer when the input has too few keyframes: the last segments are empty).
    func boundaries(count: Int) -> [Int64] {
        guard count > 1, let first = times.first, !jumpsBack else { return [] }
        var out: [Int64] = []
        for i in 1..<count {
            let target = times[min(times.count - 1, i * times.count / count)]
            guard let k = keyframes.first(where: { $0 >= target && $0 > first && $0 > (out.last ?? Int64.min) }) else { break }
            out.append(k)
        }
        return out
    }

    func frames(from start: Int64?, to end: Int64?) -> Int {
        times.filter { t in (start.map { t >= $0 } ?? true) && (end.map { t < $0 } ?? true) }.count * framesPerPacket
    }
}

/// What a resumable job has done, in `state.json` of its work folder (written atomically).
struct JobState: Codable, Equatable {
    var version = 1
    var input: String
    var fingerprint: String
    var settings: String
    var boundaries: [Int64]
    var done: [Bool]
    var frames: [Int]
    /// `KeyframeIndex.jumpsBack`: a stopped segment is redone whole, not cut (nil in older states).
    var timesJumpBack: Bool? = nil

    static func load(_ url: URL) -> JobState? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(JobState.self, from: data)
    }

    func save(_ url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let tmp = url.appendingPathExtension("tmp")
        let data = try enc.encode(self)
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw JobError(file: url.path, message: "cannot write the job state: \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp.path, url.path) == 0 else {
            throw JobError(file: url.path, message: "cannot write the job state: \(String(cString: strerror(errno)))")
        }
    }
}

/// An exclusive lock on a job's work folder (`flock`), so a second upres on the same output
/// refuses instead of corrupting it. Released when the process ends, however it ends.
final class JobLock {
    private let fd: Int32
    init(_ url: URL, output: String) throws {
        fd = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw JobError(file: output, message: "cannot create the lock file \(url.path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let pid = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw JobError(file: output, message: "another upres (pid \(pid)) is writing this output; wait for it to finish")
        }
        ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }
    deinit { close(fd) }
}

/// Cheap identity of an input file: size, modification time and hashes of its first and
/// last MiB (a changed file almost always changes one of them).
enum InputFingerprint {
    static func of(_ path: String) throws -> String {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attrs[.size] as? NSNumber)?.int64Value ?? 0
        let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        guard let h = FileHandle(forReadingAtPath: path) else { throw JobError(file: path, message: "cannot read") }
        defer { try? h.close() }
        let head = h.readData(ofLength: 1 << 20)
        try h.seek(toOffset: UInt64(max(0, size - (1 << 20))))
        let tail = h.readData(ofLength: 1 << 20)
        return "\(size)-\(Int64(mtime * 1000))-\(String(fnv(head), radix: 16))-\(String(fnv(tail), radix: 16))"
    }

    static func fnv(_ d: Data) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in d { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}

extension UpscaleJob {
    /// Video outputs are written in segments (the unit of resume); images, image sequences,
    /// pipes (read or written once, in order) and raw frames (YUV4MPEG's packets point at
    /// frames in memory) in one pass.
    var usesSegments: Bool {
        settings.segmented && !OutputNaming.isSequencePattern(outputPath)
            && !["image2", "image2pipe"].contains(String(cString: muxer.pointee.name))
            && !StandardStream.isPipe(settings.input) && !StandardStream.isPipe(outputPath)
            && encoderCodec.pointee.id != AV_CODEC_ID_WRAPPED_AVFRAME
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
                     String(cString: encoderCodec.pointee.name), String(cString: muxer.pointee.name),
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
            throw JobError(file: target, message: "cannot write in \(OutputGuard.folder(of: target)): \(String(cString: strerror(errno)))")
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
        let b = index.boundaries(every: settings.segmentSeconds, timeBase: input.stream(videoStream).pointee.time_base,
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
               spec.end.map({ cut < $0 }) ?? true {
                // A graceful stop cut this segment short after its last encoded frame: split it,
                // the rest becomes a segment of its own that a rerun starts with.
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
                  encoder: String(cString: encoderCodec.pointee.name), pixelFormat: PixelFormat.name(encodeFormat.pixelFormat),
                  copiedStreams: 0, elapsed: Date().timeIntervalSince(started), warnings: warnings)
    }

    /// `join` into a temporary file beside `target`, renamed into place only when complete.
    func joinStaged(_ segments: [URL], target: String, overwrite: Bool, partial: Bool) throws -> (frames: Int, copied: Int, warnings: [String]) {
        let staging = try OutputStaging(finalPath: target, overwrite: overwrite)
        do {
            let j = try join(segments, into: staging.writePath, target: target, partial: partial)
            try staging.commit()
            return j
        } catch {
            staging.discard()
            throw error
        }
    }

    /// Writes the output: the segments' video packets (stream copy, in order) interleaved by
    /// time with the source's other streams. `partial`: the other streams stop where the
    /// video does.
    func join(_ segments: [URL], into path: String, target: String, partial: Bool) throws -> (frames: Int, copied: Int, warnings: [String]) {
        guard !segments.isEmpty else { throw JobError(file: target, message: "internal: no segment to join") }
        let out: OutputFile
        do { out = try OutputFile(path: path, format: muxer) } catch { throw JobError(file: target, message: "\(error)") }
        // The video stream's parameters are those the segments' encoders produced (stored in
        // each segment file): the same header a one-pass run writes.
        let first = try SegmentFileReader(path: segments[0].path)
        let segmentTimeBase = try StreamParameters.timeBase(first.parameters)
        let streams = try configureOutput(out, target: target, segment: false) { ost in
            try StreamParameters.decode(first.parameters, into: ost.pointee.codecpar)
            ost.pointee.codecpar.pointee.codec_tag = 0
            ost.pointee.time_base = segmentTimeBase
        }
        let (streamMap, copied) = (streams.map, streams.copied)
        let videoOut = streamMap[videoStream]
        let videoTB = out.stream(videoOut).pointee.time_base

        // Source of the other streams: the input, read again from its start.
        let source = try InputFile(path: settings.input)
        let copyWindow = decodePlan.copyWindow
        copyWindow.seek(source)
        let other = Packet(), video = Packet()
        var otherPending = false, otherDone = false
        var segmentIndex = 0
        var current: SegmentFileReader? = first
        var videoPending = false, videoDone = false
        var frames = 0
        var lastDts = Int64.min
        var videoEnd: (Int64, AVRational)? = nil

        func nextVideo() throws {
            while let seg = current {
                if try seg.read(into: video) {
                    videoPending = true
                    return
                }
                segmentIndex += 1
                current = segmentIndex < segments.count ? try SegmentFileReader(path: segments[segmentIndex].path) : nil
            }
            videoDone = true
        }
        func nextOther() {
            while true {
                switch source.read(into: other) {
                case .packet:
                    let i = Int(other.streamIndex)
                    guard i != videoStream, i < streamMap.count, streamMap[i] >= 0 else { continue }
                    switch copyWindow.admit(other, timeBase: source.stream(i).pointee.time_base) {
                    case .keep: break
                    case .drop: continue
                    case .end: otherDone = true; return
                    }
                    otherPending = true
                    return
                case .endOfFile, .error:
                    otherDone = true
                    return
                }
            }
        }
        func time(_ p: Packet) -> Int64 { p.dts != noTimestamp ? p.dts : p.pts }

        try nextVideo()
        nextOther()
        while videoPending || otherPending {
            let takeVideo: Bool
            if videoPending && otherPending {
                let ist = source.stream(Int(other.streamIndex))
                takeVideo = av_compare_ts(time(video), segmentTimeBase, time(other), ist.pointee.time_base) <= 0
            } else {
                takeVideo = videoPending
            }
            if takeVideo {
                video.streamIndex = Int32(videoOut)
                video.rescaleTimestamps(from: segmentTimeBase, to: videoTB)
                // Segments restart the encoder: keep decode times strictly increasing across joins.
                if video.dts != noTimestamp {
                    if video.dts <= lastDts && (video.pts == noTimestamp || lastDts < video.pts) {
                        video.pointer.pointee.dts = lastDts + 1
                    }
                    lastDts = video.dts
                }
                videoEnd = (video.pts + max(0, video.pointer.pointee.duration), videoTB)
                video.pointer.pointee.pos = -1
                do { try out.write(video) } catch { throw JobError(file: target, message: "\(error)") }
                frames += 1
                videoPending = false
                try nextVideo()
            } else {
                let i = Int(other.streamIndex)
                let ist = source.stream(i)
                if partial, videoDone, let (end, tb) = videoEnd, av_compare_ts(time(other), ist.pointee.time_base, end, tb) > 0 {
                    otherPending = false
                    break
                }
                do { try streams.write(other, from: source, via: out.write) } catch { throw JobError(file: target, message: "\(error)") }
                otherPending = false
                if !otherDone { nextOther() }
            }
        }
        do {
            try streams.finish(via: out.write)
            try out.finish()
        } catch { throw JobError(file: target, message: "\(error)") }
        return (frames, copied, streams.warnings)
    }
}
