/// A 4-D float tensor in NCHW order (plain, dense). Used for model inputs and outputs,
/// weights, and by the reference executor.
public struct Tensor: Equatable, Sendable {
    public var shape: Shape
    public var data: [Float]

    public struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible {
        public var n, c, h, w: Int
        public init(_ n: Int, _ c: Int, _ h: Int, _ w: Int) {
            self.n = n; self.c = c; self.h = h; self.w = w
        }
        public var count: Int { n * c * h * w }
        public var description: String { "\(n)x\(c)x\(h)x\(w)" }
    }

    public init(shape: Shape, data: [Float]) {
        precondition(data.count == shape.count, "tensor data does not match its shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: Shape) { self.init(shape: shape, data: [Float](repeating: 0, count: shape.count)) }

    /// Deterministic uniform values in [lo, hi) (xorshift), for tests and random-weight models.
    public init(random shape: Shape, seed: UInt64, in range: ClosedRange<Float> = 0...1) {
        var rng = SeededRandom(seed: seed)
        self.init(shape: shape, data: (0..<shape.count).map { _ in rng.uniform(range) })
    }

    @inline(__always) public func index(_ n: Int, _ c: Int, _ y: Int, _ x: Int) -> Int {
        ((n * shape.c + c) * shape.h + y) * shape.w + x
    }

    @inline(__always) public subscript(n: Int, c: Int, y: Int, x: Int) -> Float {
        get { data[index(n, c, y, x)] }
        set { data[index(n, c, y, x)] = newValue }
    }

    /// Largest absolute difference, and the largest absolute value of `other` (for relative errors).
    public func maxDifference(_ other: Tensor) -> (absolute: Float, scale: Float) {
        precondition(shape == other.shape, "comparing \(shape) with \(other.shape)")
        var diff: Float = 0, scale: Float = 0
        for i in 0..<data.count {
            diff = max(diff, abs(data[i] - other.data[i]))
            scale = max(scale, abs(other.data[i]))
        }
        return (diff, scale)
    }
}

/// xorshift64* — small, fast, reproducible across platforms.
public struct SeededRandom: Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    public mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    public mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return range.lowerBound + unit * (range.upperBound - range.lowerBound)
    }
}
