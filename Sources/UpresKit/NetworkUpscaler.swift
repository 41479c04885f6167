import Foundation
import UpresEngine
import UpresMedia

/// SR networks in the video path: a model family (`ModelFamily`) run by the tile pipeline
/// (`TilePipeline`): luma models on the Y plane in tiles, chroma scaled classically at its
/// siting. The network runs at its own scale; another target size is reached with a Lanczos
/// resize of the network's output.
public struct NetworkUpscalerFactory: UpscalerFactory {
    public let family: ModelFamily
    public let settings: TileSettings

    public init(family: ModelFamily, settings: TileSettings) {
        self.family = family
        self.settings = settings
    }

    public var name: String { "\(family.name) (\(precision))" }
    public var precision: String { settings.precision.rawValue }

    public var identity: String {
        let branches = family.branches.sorted { $0.key < $1.key }
            .map { "\($0.key.name)=\($0.value.info.name):\($0.value.info.parameters):\($0.value.info.provenance["iterations"] ?? "")" }
        let s = settings
        return "\(name)|\(branches.joined(separator: ","))|tile=\(s.tile)\(s.windowBudget.map { "+window<=\($0)" } ?? "")|classes=\(s.classes)|branch=\(s.branch.name)|"
            + "reuse=\(s.reuseThreshold.map(String.init) ?? "off")|\(family.routingIdentity)|mac-cost=\(s.macCost)"
    }

    public func workingFormat(source: VideoFormat, encode: VideoFormat) -> VideoFormat {
        WorkingFormat.plan(source: source, encode: encode, rgbModel: family.hard.info.inChannels == 3)
    }

    public func makePipeline(input: VideoFormat, output: VideoFormat) throws -> any FramePipeline {
        try TilePipeline(family: family, settings: settings, input: input, output: output)
    }

    /// Frame-at-a-time use (single images, tests): the tile pipeline driven synchronously.
    public func makeUpscaler(input: VideoFormat, output: VideoFormat) throws -> any Upscaler {
        PipelineUpscaler(try TilePipeline(family: family, settings: settings, input: input, output: output))
    }
}

/// A `FramePipeline` used one frame at a time.
public final class PipelineUpscaler: Upscaler {
    public let pipeline: TilePipeline
    public init(_ pipeline: TilePipeline) { self.pipeline = pipeline }
    deinit { pipeline.abort() }
    public var name: String { pipeline.name }
    public var input: VideoFormat { pipeline.input }
    public var output: VideoFormat { pipeline.output }
    public func upscale(_ frame: Frame) throws -> Frame {
        try pipeline.submit(frame)
        guard let f = try pipeline.next(wait: true) else { throw MediaInputError("internal: the tile pipeline returned no frame") }
        return f
    }
}
