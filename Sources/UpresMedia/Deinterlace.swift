import Foundation
import CFFmpeg

/// `--deinterlace`: what to do with interlaced sources.
public enum DeinterlaceMode: String, Sendable, CaseIterable {
    /// Deinterlace sources tagged interlaced, or found combed by `idet` (the default).
    case auto
    /// Always deinterlace, one frame per frame (frame count and timestamps kept).
    case frame
    /// Always deinterlace, one frame per field (twice the frame rate).
    case field
    /// Never: interlaced frames are upscaled as they are (the combing with them).
    case off
}

/// How a job deinterlaces: libavfilter's `bwdif` before the upscaler.
public struct DeinterlaceSetup: Sendable, Equatable {
    public enum Rate: String, Sendable { case frame, field }
    public var rate: Rate
    /// bwdif's parity: -1 the frames' own flags (tagged streams), 0 top field first, 1 bottom.
    public var parity: Int32
    /// Why (for people): "tagged tt", or idet's counts.
    public var reason: String

    public var filterArgs: String {
        let p = parity < 0 ? "auto" : (parity == 0 ? "tff" : "bff")
        return "mode=\(rate == .field ? "send_field" : "send_frame"):parity=\(p):deint=all"
    }

    /// Decides from the stream's field-order tag, else from `idet` on its first frames.
    /// Images are never interlaced; `off` never deinterlaces.
    public static func plan(_ mode: DeinterlaceMode, input: InputFile, stream: Int) throws -> DeinterlaceSetup? {
        if mode == .off || input.isImage { return nil }
        let order = input.stream(stream).pointee.codecpar.pointee.field_order
        let rate: Rate = mode == .field ? .field : .frame
        if InterlaceDetection.isTagged(order) {
            let name = ["tt", "bb", "tb", "bt"][Int(order.rawValue) - Int(AV_FIELD_TT.rawValue)]
            return DeinterlaceSetup(rate: rate, parity: -1, reason: "tagged interlaced (\(name))")
        }
        // Untagged: idet, but only where interlaced video exists (not RGB, palette or image
        // codecs: PNG/QuickTime Animation in MOV, GIF, where idet misreads moving graphics),
        // and only on a file (a pipe cannot be read twice).
        let par = input.stream(stream).pointee.codecpar!
        let pixels = AVPixelFormat(rawValue: par.pointee.format)
        // A pipe cannot be read twice: there only the tag (or --deinterlace frame/field) decides.
        let neverInterlaced = PixelFormat.isRGB(pixels) || InterlaceDetection.progressiveOnlyCodecs.contains(par.pointee.codec_id)
            || StandardStream.isPipe(input.path)
        let report = neverInterlaced && (mode == .auto || StandardStream.isPipe(input.path))
            ? nil : try InterlaceDetection.scan(path: input.path, stream: stream)
        if let report, report.isInterlaced {
            return DeinterlaceSetup(rate: rate, parity: report.isTopFieldFirst ? 0 : 1, reason: report.summary)
        }
        if mode == .auto { return nil }
        return DeinterlaceSetup(rate: rate, parity: -1, reason: "--deinterlace \(mode.rawValue)")
    }
}

/// One pass's deinterlacer: a fresh `bwdif` graph (so a segment's frames depend only on the
/// frames it decodes: the pass starts decoding before its first frame, see `DecodePlan`).
/// Frames come out in the plan's time base with their durations set.
public final class FrameDeinterlacer {
    private let setup: DeinterlaceSetup
    private let sourceTimeBase: AVRational
    private let frameRate: AVRational
    private let timeBase: AVRational
    private let pixelFormat: AVPixelFormat
    private var graph: FilterChain? = nil
    private let out = Frame()
    /// (pts, duration) of the frames pushed and not yet out, source time base.
    private var pending: [(pts: Int64, duration: Int64)] = []

    public init(setup: DeinterlaceSetup, sourceTimeBase: AVRational, frameRate: AVRational, timeBase: AVRational,
         pixelFormat: AVPixelFormat) {
        self.setup = setup
        self.sourceTimeBase = sourceTimeBase
        self.frameRate = frameRate
        self.timeBase = timeBase
        self.pixelFormat = pixelFormat
    }

    /// Feeds a decoded frame (timestamps already assigned), or nil at the end of the stream;
    /// hands every frame the filter lets out to `deliver`.
    public func push(_ frame: Frame?, _ deliver: (Frame) throws -> Void) throws {
        if let frame {
            if graph == nil {
                // From the first frame, which is what the decoder really produces.
                let format = VideoFormat(width: frame.width, height: frame.height, pixelFormat: frame.format,
                                         sampleAspectRatio: frame.pointer.pointee.sample_aspect_ratio)
                graph = try FilterChain(input: format, timeBase: sourceTimeBase, frameRate: frameRate,
                                        filters: [("bwdif", setup.filterArgs)], outputPixelFormat: pixelFormat)
            }
            pending.append((frame.pts, frame.duration))
        }
        guard let graph else { return }
        try graph.push(frame)
        while try graph.pull(into: out) {
            out.pts = av_rescale_q(out.pts, graph.outputTimeBase, timeBase)
            // The source frame this one comes from: its duration is, in the plan's time base,
            // a frame's (frame rate) or a field's (field rate, where the time base is halved).
            let source = setup.rate == .field ? out.pts >> 1 : out.pts
            if let i = pending.lastIndex(where: { $0.pts <= source }) {
                out.duration = pending[i].duration
                pending.removeFirst(i)
            }
            out.pointer.pointee.interlaced_frame = 0
            out.pointer.pointee.top_field_first = 0
            try deliver(out)
        }
    }
}
