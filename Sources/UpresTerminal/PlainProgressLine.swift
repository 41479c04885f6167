import UpresProgress

/// The one-line progress report for pipes and logs (`--progress plain`):
///
///     frame 120/240 (50.0%)  12.3 fps  ETA 0:10  elapsed 0:10  3.4 MiB  tiles static 12% flat 30% easy 20% medium 25% hard 13%
public enum PlainProgressLine {
    public static func progress(_ s: PipelineStats) -> String {
        var text = "frame \(s.framesDone)"
        if let total = s.framesTotal, total > 0 {
            text += "/\(s.framesTotalEstimated ? "~" : "")\(total) (\(Format.percent(s.fractionDone ?? 0)))"
        }
        text += "  \(Format.rate(s.fps)) fps"
        if s.framesTotal != nil { text += "  ETA \(Format.clock(s.eta))" }
        text += "  elapsed \(Format.clock(s.elapsed))  \(Format.bytes(s.bytesWritten))"
        if s.classesTotal.total > 0 { text += "  tiles " + classes(s.classesTotal) }
        return text
    }

    /// "static 12% flat 30% easy 20% medium 25% hard 13%" (empty without tiles).
    public static func classes(_ c: ClassCounts) -> String {
        guard c.total > 0 else { return "" }
        return TileClass.allCases.map { "\($0.name) \(Int((c.fraction($0) * 100).rounded()))%" }.joined(separator: " ")
    }
}
