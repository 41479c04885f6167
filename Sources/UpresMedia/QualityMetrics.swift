import Foundation
import CFFmpeg
import CMediaShims

/// PSNR and SSIM of one distorted frame against its reference, per plane (Y, U, V; Y alone for
/// grey) and over the frame (planes weighted by their size), as libavfilter's filters report them.
public struct FrameQuality: Sendable, Equatable {
    /// Which distorted frame (0-based, in decoding order) and its time in seconds.
    public var frame: Int
    public var time: Double
    public var mse: [Double]
    public var psnr: [Double]
    public var mseAverage: Double
    public var psnrAverage: Double
    public var ssim: [Double]
    public var ssimAll: Double
}

/// Whole-clip figures the way FFmpeg's filters summarise them: PSNR per plane from the mean
/// MSE over frames, the average from the mean of the size-weighted MSE; SSIM the mean of the
/// per-frame values.
public struct QualitySummary: Sendable, Equatable {
    public var frames: Int
    public var psnr: [Double]
    public var psnrAverage: Double
    public var ssim: [Double]
    public var ssimAll: Double

    /// - Parameter peak: the largest code value (255 at 8 bits, 1023 at 10 bits).
    public init(_ frames: [FrameQuality], peak: Double) {
        self.frames = frames.count
        let n = Double(max(1, frames.count))
        let planes = frames.first?.mse.count ?? 0
        func psnr(_ mse: Double) -> Double { 10 * log10(peak * peak / mse) }
        self.psnr = (0..<planes).map { p in psnr(frames.reduce(0) { $0 + $1.mse[p] } / n) }
        psnrAverage = psnr(frames.reduce(0) { $0 + $1.mseAverage } / n)
        ssim = (0..<planes).map { p in frames.reduce(0) { $0 + $1.ssim[p] } / n }
        ssimAll = frames.reduce(0) { $0 + $1.ssimAll } / n
    }
}

/// libavfilter's `psnr` and `ssim` on two streams of frames of one format: a graph of two
/// `buffer` sources (distorted, reference), each `split` into `[d1][r1]psnr` and `[d2][r2]ssim`,
/// and two sinks whose frames carry the per-frame figures as metadata. The filters' frame sync
/// pairs each distorted frame with the latest reference frame at or before its timestamp (the
/// caller shifts the reference by half a frame to pair with the nearest one). Push frames in
/// time order across both inputs and take the results with `drain` as they come.
public final class QualityMeter {
    public let format: VideoFormat
    public let peak: Double
    private let graph: FilterGraph
    private let distortedSource: FilterGraph.Node
    private let referenceSource: FilterGraph.Node
    private let psnrSink: FilterGraph.Node
    private let ssimSink: FilterGraph.Node
    private let planes: Int
    /// Distorted frames pushed and not yet measured: index and time, in push order (the filters
    /// give one output per distorted frame, in that order).
    private var pending: [(frame: Int, time: Double)] = []
    private var pushed = 0
    private var psnrOut: [Frame] = []
    private var ssimOut: [Frame] = []

    /// - Parameters:
    ///   - format: size and pixel format of every frame on both inputs (planar YUV or grey).
    ///   - threads: slice threads for the filters (0 = one per core).
    public init(format: VideoFormat, distortedTimeBase: AVRational, referenceTimeBase: AVRational,
                threads: Int32 = 0) throws {
        self.format = format
        peak = Double((1 << PixelFormat.bitDepth(format.pixelFormat)) - 1)
        planes = QualityMeter.isGrey(format.pixelFormat) ? 1 : 3
        let g = FilterGraph(threads: threads)
        graph = g
        distortedSource = try g.addSource("distorted", format: format, timeBase: distortedTimeBase)
        referenceSource = try g.addSource("reference", format: format, timeBase: referenceTimeBase)
        let splitD = try g.add("split", ["outputs": "2"]), splitR = try g.add("split", ["outputs": "2"])
        let psnr = try g.add("psnr"), ssim = try g.add("ssim")
        psnrSink = try g.addSink("psnr_out")
        ssimSink = try g.addSink("ssim_out")
        try g.link(distortedSource, splitD)
        try g.link(referenceSource, splitR)
        try g.link(splitD, psnr, fromPad: 0, toPad: 0)
        try g.link(splitR, psnr, fromPad: 0, toPad: 1)
        try g.link(splitD, ssim, fromPad: 1, toPad: 0)
        try g.link(splitR, ssim, fromPad: 1, toPad: 1)
        try g.link(psnr, psnrSink)
        try g.link(ssim, ssimSink)
        try g.configure()
    }

    /// Pixel formats the filters measure as they are; others are converted by the caller.
    public static func measures(_ format: AVPixelFormat) -> Bool {
        guard let d = av_pix_fmt_desc_get(format) else { return false }
        let flags = d.pointee.flags
        let excluded = UInt64(AV_PIX_FMT_FLAG_RGB) | UInt64(AV_PIX_FMT_FLAG_PAL) | UInt64(AV_PIX_FMT_FLAG_ALPHA)
            | UInt64(AV_PIX_FMT_FLAG_BE) | UInt64(AV_PIX_FMT_FLAG_FLOAT) | UInt64(AV_PIX_FMT_FLAG_HWACCEL)
            | UInt64(AV_PIX_FMT_FLAG_BITSTREAM) | UInt64(AV_PIX_FMT_FLAG_BAYER)
        if flags & excluded != 0 { return false }
        let n = Int(d.pointee.nb_components)
        if n == 1 { return Int(d.pointee.comp.0.depth) <= 16 && Int(d.pointee.comp.0.step) == (d.pointee.comp.0.depth > 8 ? 2 : 1) }
        // Planar YUV, 3 planes, 8 to 16 bits in the low bits.
        return n == 3 && flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0 && av_pix_fmt_count_planes(format) == 3
            && d.pointee.comp.0.shift == 0 && Int(d.pointee.comp.0.depth) <= 16
    }

    static func isGrey(_ format: AVPixelFormat) -> Bool {
        (av_pix_fmt_desc_get(format)?.pointee.nb_components ?? 3) == 1
    }

    /// A distorted frame (its pts in the distorted time base); `time` is what the result reports.
    public func pushDistorted(_ frame: Frame, time: Double) throws {
        pending.append((pushed, time))
        pushed += 1
        try graph.push(frame, into: distortedSource)
    }

    public func pushReference(_ frame: Frame) throws {
        try graph.push(frame, into: referenceSource)
    }

    /// No more distorted frames: closes both inputs (later reference frames are not needed).
    public func finish() throws {
        try graph.push(nil, into: distortedSource)
        try graph.push(nil, into: referenceSource)
    }

    /// The results ready so far. Distorted frames with no reference frame at or before them give
    /// none (nothing to compare them with).
    public func drain() throws -> [FrameQuality] {
        func take(_ sink: FilterGraph.Node, into list: inout [Frame]) throws {
            while true {
                let f = Frame()
                guard try graph.pull(from: sink, into: f) == .frame else { return }
                list.append(f)
            }
        }
        try take(psnrSink, into: &psnrOut)
        try take(ssimSink, into: &ssimOut)
        var results: [FrameQuality] = []
        // After the last distorted frame the filters may repeat it against later reference
        // frames: only the first output per distorted frame counts.
        while !psnrOut.isEmpty && !ssimOut.isEmpty && !pending.isEmpty {
            let p = psnrOut.removeFirst(), s = ssimOut.removeFirst()
            let which = pending.removeFirst()
            if let q = quality(p, s, which) { results.append(q) }
        }
        if pending.isEmpty { psnrOut.removeAll(); ssimOut.removeAll() }
        return results
    }

    private func quality(_ p: Frame, _ s: Frame, _ which: (frame: Int, time: Double)) -> FrameQuality? {
        let psnrNames = planes == 1 ? ["y"] : ["y", "u", "v"]
        let ssimNames = planes == 1 ? ["Y"] : ["Y", "U", "V"]
        func value(_ f: Frame, _ key: String) -> Double? { f.metadata(key).flatMap { Double($0) } }
        var mse: [Double] = [], psnr: [Double] = [], ssim: [Double] = []
        for (a, b) in zip(psnrNames, ssimNames) {
            guard let m = value(p, "lavfi.psnr.mse.\(a)"), let q = value(p, "lavfi.psnr.psnr.\(a)"),
                  let v = value(s, "lavfi.ssim.\(b)") else { return nil }
            mse.append(m)
            psnr.append(q)
            ssim.append(v)
        }
        guard let mseAvg = value(p, "lavfi.psnr.mse_avg"), let psnrAvg = value(p, "lavfi.psnr.psnr_avg"),
              let all = value(s, "lavfi.ssim.All") ?? (planes == 1 ? ssim.first : nil) else { return nil }
        return FrameQuality(frame: which.frame, time: which.time, mse: mse, psnr: psnr, mseAverage: mseAvg,
                            psnrAverage: psnrAvg, ssim: ssim, ssimAll: all)
    }
}
