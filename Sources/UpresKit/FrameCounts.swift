import UpresMedia

extension UpscaleJob {
    /// The frames the output should have: the container's count (or its estimate from duration
    /// and frame rate), of the range only, twice as many at field rate.
    public var expectedFrames: InputFile.FrameCount? {
        let factor = decodePlan.framesPerSourceFrame
        guard let range = decodePlan.range else {
            return input.expectedFrames(stream: videoStream).map { .init(count: $0.count * factor, exact: $0.exact) }
        }
        let rate = decodePlan.sourceFrameRate
        guard rate.isPositive, let seconds = range.seconds(fileDuration: input.durationSeconds) else { return nil }
        return .init(count: Int((seconds * rate.doubleValue).rounded()) * factor, exact: false)
    }

    /// `expectedFrames`, counted exactly for a range (a quick scan of its packets).
    public func countFrames() throws -> InputFile.FrameCount? {
        guard decodePlan.range != nil else { return expectedFrames }
        let index = try KeyframeIndex.scan(settings.input, stream: videoStream, plan: decodePlan)
        return .init(count: index.frames(from: nil, to: nil), exact: true)
    }
}
