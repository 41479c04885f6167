import CFFmpeg
import CMediaShims

/// A linear libavfilter chain for the frames of one video stream:
/// `buffer -> FILTER -> ... -> [format] -> buffersink`. Owns the graph (freed in `deinit`).
///
///     let g = try FilterChain(input: format, timeBase: tb, frameRate: rate,
///                             filters: [("bwdif", "mode=send_frame")])
///     try g.push(frame); while try g.pull(into: out) { ... }
///     try g.push(nil)    // end of stream: the filters flush what they hold
public final class FilterChain {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>
    private let description: String
    /// Time base and frame rate of the frames `pull` returns (filters may change both).
    public let outputTimeBase: AVRational
    public let outputFrameRate: AVRational

    /// - Parameters:
    ///   - input: size, pixel format and aspect of the frames pushed.
    ///   - filters: filter names and their option strings, in order.
    ///   - outputPixelFormat: frames leave in this format (a `format` filter at the end), else
    ///     in whatever the last filter produces.
    ///   - threads: libavfilter threads (0 = one per core).
    public init(input: VideoFormat, timeBase: AVRational, frameRate: AVRational,
                filters: [(name: String, args: String)], outputPixelFormat: AVPixelFormat? = nil,
                threads: Int32 = 0) throws {
        description = filters.map { $0.args.isEmpty ? $0.name : "\($0.name)=\($0.args)" }.joined(separator: ",")
        guard let g = avfilter_graph_alloc() else { throw MediaInputError("avfilter_graph_alloc: out of memory") }
        graph = g
        g.pointee.nb_threads = threads
        let context = "filter graph \(description)"
        func make(_ name: String, _ label: String, _ args: String?) throws -> UnsafeMutablePointer<AVFilterContext> {
            guard let filter = avfilter_get_by_name(name) else {
                throw MediaInputError("this FFmpeg build has no '\(name)' filter (libavfilter)")
            }
            var ctx: UnsafeMutablePointer<AVFilterContext>? = nil
            try avCheck(avfilter_graph_create_filter(&ctx, filter, label, args, nil, g),
                        "avfilter_graph_create_filter", "\(name)=\(args ?? "") in \(context)")
            return ctx!
        }
        let sar = input.sampleAspectRatio.num > 0 && input.sampleAspectRatio.den > 0
            ? input.sampleAspectRatio : AVRational(num: 1, den: 1)
        var args = "video_size=\(input.width)x\(input.height):pix_fmt=\(input.pixelFormat.rawValue)"
            + ":time_base=\(timeBase.num)/\(timeBase.den):pixel_aspect=\(sar.num)/\(sar.den)"
        if frameRate.num > 0 && frameRate.den > 0 { args += ":frame_rate=\(frameRate.num)/\(frameRate.den)" }
        // A throwing init still runs deinit, which frees the graph and every filter in it.
        source = try make("buffer", "in", args)
        sink = try make("buffersink", "out", nil)
        var chain: [UnsafeMutablePointer<AVFilterContext>] = [source]
        for (i, f) in filters.enumerated() { chain.append(try make(f.name, "f\(i)", f.args)) }
        if let out = outputPixelFormat {
            chain.append(try make("format", "pixfmt", "pix_fmts=\(PixelFormat.name(out))"))
        }
        chain.append(sink)
        for (a, b) in zip(chain, chain.dropFirst()) {
            try avCheck(avfilter_link(a, 0, b, 0), "avfilter_link", context)
        }
        try avCheck(avfilter_graph_config(g, nil), "avfilter_graph_config", context)
        outputTimeBase = av_buffersink_get_time_base(sink)
        outputFrameRate = av_buffersink_get_frame_rate(sink)
    }

    deinit { avfilter_graph_free(&graph) }

    /// Feeds a frame (the graph takes its own reference; `frame` stays the caller's), or nil at
    /// the end of the stream.
    public func push(_ frame: Frame?) throws {
        let flags = Int32(AV_BUFFERSRC_FLAG_KEEP_REF)
        try avCheck(av_buffersrc_add_frame_flags(source, frame?.pointer, frame == nil ? 0 : flags),
                    "av_buffersrc_add_frame_flags", "filter graph \(description)")
    }

    /// The next filtered frame into `frame` (timestamps in `outputTimeBase`); false when the
    /// filters need more input or have flushed everything.
    public func pull(into frame: Frame) throws -> Bool {
        frame.unref()
        let r = av_buffersink_get_frame(sink, frame.pointer)
        if r >= 0 { return true }
        if r == MediaError.tryAgain || r == MediaError.endOfFile { return false }
        throw MediaError(code: r, function: "av_buffersink_get_frame", context: "filter graph \(description)")
    }
}
