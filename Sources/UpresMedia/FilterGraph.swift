import CFFmpeg
import CMediaShims

/// Owns one libavfilter graph, built filter by filter with options set as values (no filter
/// description string to escape): `buffer` sources take frames, `buffersink`s give them back.
///
///     let g = FilterGraph()
///     let src = try g.addSource("in", format: format, timeBase: tb)
///     let text = try g.add("drawtext", ["text": "50% done", "expansion": "none"])
///     let sink = try g.addSink("out")
///     try g.link(src, text); try g.link(text, sink); try g.configure()
///     try g.push(frame, into: src); _ = try g.pull(from: sink, into: out)
final class FilterGraph {
    typealias Node = UnsafeMutablePointer<AVFilterContext>

    private let graph: UnsafeMutablePointer<AVFilterGraph>
    private var count = 0

    /// - Parameter threads: slice threads for filters that have them (0 = one per core).
    init(threads: Int32 = 1) {
        guard let g = avfilter_graph_alloc() else { fatalError("avfilter_graph_alloc: out of memory") }
        graph = g
        g.pointee.nb_threads = threads
    }

    deinit {
        var g: UnsafeMutablePointer<AVFilterGraph>? = graph
        avfilter_graph_free(&g)
    }

    /// Adds and initialises a filter; an option the filter does not have is an error.
    @discardableResult
    func add(_ filter: String, _ options: [String: String] = [:], name: String? = nil) throws -> Node {
        guard let f = avfilter_get_by_name(filter) else {
            throw MediaInputError("this FFmpeg build has no '\(filter)' filter")
        }
        count += 1
        let instance = name ?? "\(filter)_\(count)"
        guard let ctx = avfilter_graph_alloc_filter(graph, f, instance) else {
            fatalError("avfilter_graph_alloc_filter: out of memory")
        }
        var dict: OpaquePointer? = nil
        defer { av_dict_free(&dict) }
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        try avCheck(avfilter_init_dict(ctx, &dict), "avfilter_init_dict",
                    "setting up the \(filter) filter with \(options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
        if let left = av_dict_get(dict, "", nil, AV_DICT_IGNORE_SUFFIX) {
            throw MediaInputError("the \(filter) filter has no option '\(String(cString: left.pointee.key))'")
        }
        return ctx
    }

    /// A `buffer` source for frames of `format` with timestamps in `timeBase`.
    func addSource(_ name: String, format: VideoFormat, timeBase: AVRational) throws -> Node {
        let sar = format.sampleAspectRatio.num > 0 ? format.sampleAspectRatio : AVRational(num: 1, den: 1)
        return try add("buffer", ["width": "\(format.width)", "height": "\(format.height)",
                                  "pix_fmt": PixelFormat.name(format.pixelFormat),
                                  "time_base": "\(timeBase.num)/\(timeBase.den)",
                                  "pixel_aspect": "\(sar.num)/\(sar.den)"], name: name)
    }

    func addSink(_ name: String) throws -> Node {
        try add("buffersink", name: name)
    }

    func link(_ from: Node, _ to: Node, fromPad: Int = 0, toPad: Int = 0) throws {
        try avCheck(avfilter_link(from, UInt32(fromPad), to, UInt32(toPad)), "avfilter_link",
                    "linking \(String(cString: from.pointee.name)) to \(String(cString: to.pointee.name))")
    }

    /// Checks the links and negotiates formats; call once, after every filter is linked.
    func configure() throws {
        try avCheck(avfilter_graph_config(graph, nil), "avfilter_graph_config", "configuring a filter graph")
    }

    /// Sends a frame into a source (the graph takes its own reference), or nil for end of stream.
    func push(_ frame: Frame?, into source: Node) throws {
        if let frame {
            try avCheck(av_buffersrc_add_frame_flags(source, frame.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)),
                        "av_buffersrc_add_frame_flags", "filtering a frame")
        } else {
            try avCheck(av_buffersrc_add_frame_flags(source, nil, 0), "av_buffersrc_add_frame_flags", "ending a filter input")
        }
    }

    enum PullResult { case frame, needsInput, endOfStream }

    /// The next frame out of a sink.
    func pull(from sink: Node, into frame: Frame) throws -> PullResult {
        frame.unref()
        let r = av_buffersink_get_frame(sink, frame.pointer)
        if r >= 0 { return .frame }
        if r == MediaError.tryAgain { return .needsInput }
        if r == MediaError.endOfFile { return .endOfStream }
        throw MediaError(code: r, function: "av_buffersink_get_frame", context: "filtering")
    }

    func timeBase(of sink: Node) -> AVRational { av_buffersink_get_time_base(sink) }
}

extension Frame {
    /// A metadata entry the filters attached to this frame (`lavfi.psnr.mse.y`...).
    func metadata(_ key: String) -> String? {
        guard let e = av_dict_get(pointer.pointee.metadata, key, nil, 0) else { return nil }
        return String(cString: e.pointee.value)
    }
}
