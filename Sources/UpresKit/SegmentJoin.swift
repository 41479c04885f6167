import Foundation
import UpresMedia

extension UpscaleJob {
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
        do { out = try OutputFile(path: path, encoding: encoding) } catch { throw JobError(file: target, message: "\(error)", cause: error) }
        // The video stream's parameters are those the segments' encoders produced (stored in
        // each segment file): the same header a one-pass run writes.
        let first = try SegmentFileReader(path: segments[0].path)
        let parameters = try SegmentVideoParameters(first.parameters)
        let segmentTimeBase = parameters.timeBase
        let streams = try configureOutput(out, target: target, segment: false, video: .segments(parameters))
        let (streamMap, copied) = (streams.map, streams.copied)
        let videoOut = streamMap[videoStream]
        let videoTB = out.timeBase(stream: videoOut)

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
        var videoEnd: (Int64, Rational)? = nil

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
                    switch copyWindow.admit(other, timeBase: source.timeBase(stream: i)) {
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
                takeVideo = Rational.compare(time(video), segmentTimeBase, time(other),
                                             source.timeBase(stream: Int(other.streamIndex))) <= 0
            } else {
                takeVideo = videoPending
            }
            if takeVideo {
                video.streamIndex = Int32(videoOut)
                video.rescaleTimestamps(from: segmentTimeBase, to: videoTB)
                // Segments restart the encoder: keep decode times strictly increasing across joins.
                if video.dts != noTimestamp {
                    if video.dts <= lastDts && (video.pts == noTimestamp || lastDts < video.pts) {
                        video.dts = lastDts + 1
                    }
                    lastDts = video.dts
                }
                videoEnd = (video.pts + max(0, video.duration), videoTB)
                video.clearPosition()
                do { try out.write(video) } catch { throw JobError(file: target, message: "\(error)", cause: error) }
                frames += 1
                videoPending = false
                try nextVideo()
            } else {
                let i = Int(other.streamIndex)
                if partial, videoDone, let (end, tb) = videoEnd, Rational.compare(time(other), source.timeBase(stream: i), end, tb) > 0 {
                    otherPending = false
                    break
                }
                do { try streams.write(other, from: source, via: out.write) } catch { throw JobError(file: target, message: "\(error)", cause: error) }
                otherPending = false
                if !otherDone { nextOther() }
            }
        }
        do {
            try streams.finish(via: out.write)
            try out.finish()
        } catch { throw JobError(file: target, message: "\(error)", cause: error) }
        return (frames, copied, streams.warnings)
    }
}
