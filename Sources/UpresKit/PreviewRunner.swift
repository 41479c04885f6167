import Foundation
import UpresMedia

/// One upscaler to show on a preview sheet.
public struct PreviewCandidate: Sendable {
    public enum Kind: String, Sendable { case classical, branch, routed, model }
    public var name: String
    public var kind: Kind
    public var factory: any UpscalerFactory
    public init(name: String, kind: Kind, factory: any UpscalerFactory) {
        self.name = name
        self.kind = kind
        self.factory = factory
    }
}

/// What one candidate made of the frame, and what it cost.
public struct PreviewResult {
    public var candidate: PreviewCandidate
    /// The upscaled frame, in the upscaler's working format (`format`).
    public var frame: Frame
    public var format: VideoFormat
    /// Wall time of the measured run (after a warm-up run of the same frame).
    public var milliseconds: Double
    /// Network multiply-adds run for the frame per source pixel, tile margins included.
    public var macsPerPixel: Double
    /// The tile grid and each tile's class, for tile pipelines.
    public var grid: TileGrid?
    public var classMap: [TileClass]
    public var classes: ClassCounts
    /// Against the reference, when one was given.
    public var quality: FrameQuality?
}

/// Runs a frame through candidates the way a job does: converted to each upscaler's working
/// format, submitted to its frame pipeline (`makePipeline`: the same `TilePipeline` as `upscale`)
/// and taken back. Each candidate runs the frame twice, the first time to create its engine
/// sessions, and the second run is timed.
public enum PreviewRunner {
    public static func run(_ candidate: PreviewCandidate, frame: Frame, source: VideoFormat,
                           size: TargetSize) throws -> PreviewResult {
        let out = size.outputSize(width: source.width, height: source.height)
        var encode = source.resized(width: out.width, height: out.height)
        if WorkingFormat.isPalette(source.pixelFormat) { encode.pixelFormat = PixelFormat.rgba }
        let working = candidate.factory.workingFormat(source: source, encode: encode)
        let upscaled = working.resized(width: out.width, height: out.height)
        let input = working == source ? frame : try WorkingConverter(source: source, working: working).convert(frame)
        let pipeline = try candidate.factory.makePipeline(input: working, output: upscaled)
        defer { pipeline.abort() }
        func once() throws -> Frame {
            try pipeline.submit(input)
            guard let f = try pipeline.next(wait: true) else {
                throw MediaInputError("internal: \(candidate.name) returned no frame")
            }
            return f
        }
        _ = try once()
        var before = PipelineStats()
        pipeline.fill(&before)
        let t0 = ContinuousClock.now
        let result = try once()
        let elapsed = ContinuousClock.now - t0
        var after = PipelineStats()
        pipeline.fill(&after)
        pipeline.finish()
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) * 1e-15
        let tiles = pipeline as? TilePipeline
        return PreviewResult(candidate: candidate, frame: result, format: upscaled, milliseconds: ms,
                             macsPerPixel: (after.multiplyAdds - before.multiplyAdds) / Double(Int(source.width) * Int(source.height)),
                             grid: tiles?.grid, classMap: tiles == nil ? [] : after.lastFrameMap,
                             classes: tiles == nil ? ClassCounts() : after.classesLastFrame, quality: nil)
    }

    /// The most detailed `w` x `h` window of a frame (source pixels): the highest mean absolute
    /// luma gradient, searched on a 4-pixel grid.
    public static func busiestRegion(of frame: Frame, format: VideoFormat, width w: Int, height h: Int) throws
        -> (x: Int, y: Int, width: Int, height: Int) {
        let fw = Int(frame.width), fh = Int(frame.height)
        let cw = min(w, fw), ch = min(h, fh)
        var grey = format
        grey.pixelFormat = PixelFormat.gray8
        grey.colour = grey.colour.fullRange
        let luma = try FrameConverter(stream: format, target: grey).convert(frame)
        let p = luma.data(plane: 0)!, rowBytes = luma.lineSize(plane: 0)
        // Integral image of |dx| + |dy|.
        var sum = [Double](repeating: 0, count: (fw + 1) * (fh + 1))
        for y in 0..<fh {
            var row = 0.0
            for x in 0..<fw {
                let c = Int(p[y * rowBytes + x])
                let dx = x + 1 < fw ? abs(Int(p[y * rowBytes + x + 1]) - c) : 0
                let dy = y + 1 < fh ? abs(Int(p[(y + 1) * rowBytes + x]) - c) : 0
                row += Double(dx + dy)
                sum[(y + 1) * (fw + 1) + x + 1] = sum[y * (fw + 1) + x + 1] + row
            }
        }
        func total(_ x: Int, _ y: Int) -> Double {
            let a = sum[y * (fw + 1) + x], b = sum[y * (fw + 1) + x + cw]
            let c = sum[(y + ch) * (fw + 1) + x], d = sum[(y + ch) * (fw + 1) + x + cw]
            return d - b - c + a
        }
        var best = (x: 0, y: 0, score: -1.0)
        for y in stride(from: 0, through: fh - ch, by: 4) {
            for x in stride(from: 0, through: fw - cw, by: 4) {
                let s = total(x, y)
                if s > best.score { best = (x, y, s) }
            }
        }
        return (best.x, best.y, cw, ch)
    }
}
