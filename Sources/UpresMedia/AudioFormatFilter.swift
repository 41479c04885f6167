import CFFmpeg
import CMediaShims

/// An audio sample layout: rate, sample format and channel layout (FFmpeg's name for it).
public struct AudioFormat: Equatable, CustomStringConvertible, Sendable {
    public var sampleRate: Int32
    public var sampleFormat: AVSampleFormat
    /// `stereo`, `5.1`...: always a native layout (unordered channels get the default one).
    public var layout: String
    public var channels: Int32

    init(sampleRate: Int32, sampleFormat: AVSampleFormat, layout: UnsafePointer<AVChannelLayout>) {
        self.sampleRate = sampleRate
        self.sampleFormat = sampleFormat
        channels = max(1, layout.pointee.nb_channels)
        var native = AVChannelLayout()
        if layout.pointee.order == AV_CHANNEL_ORDER_NATIVE {
            av_channel_layout_copy(&native, layout)
        } else {
            av_channel_layout_default(&native, channels)
        }
        defer { av_channel_layout_uninit(&native) }
        var buf = [CChar](repeating: 0, count: 128)
        av_channel_layout_describe(&native, &buf, buf.count)
        self.layout = String(cString: buf)
    }

    /// The format of a decoded frame.
    init(frame: UnsafePointer<AVFrame>) {
        var layout = frame.pointee.ch_layout   // a shallow copy, read only
        self.init(sampleRate: frame.pointee.sample_rate, sampleFormat: AVSampleFormat(rawValue: frame.pointee.format),
                  layout: &layout)
    }

    public var sampleFormatName: String { av_get_sample_fmt_name(sampleFormat).map { String(cString: $0) } ?? "?" }
    public var description: String { "\(sampleRate) Hz \(layout) \(sampleFormatName)" }
}

/// `abuffer -> aresample -> aformat -> abuffersink`: decoded audio in, audio in the sample
/// format, rate and channel layout an encoder takes out, in frames of exactly its frame size
/// (the last one shorter). libavfilter does the resampling, remixing and reframing.
final class AudioFormatFilter {
    private let graph: UnsafeMutablePointer<AVFilterGraph>
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>
    /// The input it was configured for: frames of another format need a new filter.
    let input: AudioFormat

    init(input: AudioFormat, timeBase: AVRational, output: AudioFormat, frameSize: Int32) throws {
        self.input = input
        guard let g = avfilter_graph_alloc() else { throw MediaError(code: MediaError.noMemory, function: "avfilter_graph_alloc", context: "audio") }
        graph = g
        // (A throwing init still runs deinit, which frees the graph and its filters.)
        func create(_ filter: String, _ name: String, _ args: String?) throws -> UnsafeMutablePointer<AVFilterContext> {
            var ctx: UnsafeMutablePointer<AVFilterContext>? = nil
            try avCheck(avfilter_graph_create_filter(&ctx, avfilter_get_by_name(filter), name, args, nil, g),
                        "avfilter_graph_create_filter", "\(filter) \(args ?? "")")
            return ctx!
        }
        let tb = timeBase.num > 0 && timeBase.den > 0 ? timeBase : AVRational(num: 1, den: input.sampleRate)
        source = try create("abuffer", "in", "time_base=\(tb.num)/\(tb.den):sample_rate=\(input.sampleRate):"
                            + "sample_fmt=\(input.sampleFormatName):channel_layout=\(input.layout)")
        sink = try create("abuffersink", "out", nil)
        let chain = "aresample=\(output.sampleRate),aformat=sample_fmts=\(output.sampleFormatName):"
            + "sample_rates=\(output.sampleRate):channel_layouts=\(output.layout)"
        var outputs = avfilter_inout_alloc(), inputs = avfilter_inout_alloc()
        defer { avfilter_inout_free(&outputs); avfilter_inout_free(&inputs) }
        guard let o = outputs, let i = inputs else { throw MediaError(code: MediaError.noMemory, function: "avfilter_inout_alloc", context: "audio") }
        o.pointee.name = av_strdup("in")
        o.pointee.filter_ctx = source
        i.pointee.name = av_strdup("out")
        i.pointee.filter_ctx = sink
        try avCheck(avfilter_graph_parse_ptr(g, chain, &inputs, &outputs, nil), "avfilter_graph_parse_ptr", chain)
        try avCheck(avfilter_graph_config(g, nil), "avfilter_graph_config", chain)
        if frameSize > 0 { av_buffersink_set_frame_size(sink, UInt32(frameSize)) }
    }

    deinit {
        var g: UnsafeMutablePointer<AVFilterGraph>? = graph
        avfilter_graph_free(&g)
    }

    /// The time base of the frames that come out.
    var outputTimeBase: AVRational { av_buffersink_get_time_base(sink) }

    /// Feeds a decoded frame (a reference is taken), or nil at the end.
    func push(_ frame: Frame?) throws {
        try avCheck(av_buffersrc_add_frame_flags(source, frame?.pointer, Int32(AV_BUFFERSRC_FLAG_KEEP_REF)),
                    "av_buffersrc_add_frame_flags", "audio conversion")
    }

    /// The next converted frame, or false when more input is needed (or the end was reached).
    func pull(into frame: Frame) throws -> Bool {
        frame.unref()
        let r = av_buffersink_get_frame(sink, frame.pointer)
        if r >= 0 { return true }
        if r == MediaError.tryAgain || r == MediaError.endOfFile { return false }
        throw MediaError(code: r, function: "av_buffersink_get_frame", context: "audio conversion")
    }
}
