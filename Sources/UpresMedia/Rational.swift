import CFFmpeg

/// A time base or a rate: FFmpeg's rational number, named by the media layer so that the layers
/// above it do their timestamp arithmetic without FFmpeg's functions.
public typealias Rational = AVRational

extension AVRational {
    /// `numerator / denominator` (not reduced).
    public init(_ numerator: Int32, _ denominator: Int32) { self.init(num: numerator, den: denominator) }
    public var numerator: Int32 { num }
    public var denominator: Int32 { den }
    /// Both parts positive: a real rate or time base (FFmpeg gives 0/0 or 0/1 for unknown).
    public var isPositive: Bool { num > 0 && den > 0 }
}

extension AVRational {
    /// As a floating-point number (seconds per tick for a time base, frames per second for a rate).
    public var doubleValue: Double { av_q2d(self) }
    /// 1 / self.
    public var inverse: AVRational { av_inv_q(self) }
    /// `value` ticks of this time base in ticks of `other`, rounded to the nearest.
    public func rescale(_ value: Int64, to other: AVRational) -> Int64 { av_rescale_q(value, self, other) }
    /// -1, 0 or 1 as `a` (ticks of `ta`) is before, at or after `b` (ticks of `tb`), exactly.
    public static func compare(_ a: Int64, _ ta: AVRational, _ b: Int64, _ tb: AVRational) -> Int {
        Int(av_compare_ts(a, ta, b, tb))
    }
}
