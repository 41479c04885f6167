/// An activation, add or multiply with the elementwise work after it folded in
/// (`Operation.elementwise`, made by `Graph.fused()`): one pass over memory for the chain
/// instead of one per operation. SPAN's attention (sigmoid, shift, residual add, multiply)
/// runs as two passes instead of four.
public struct Elementwise: Equatable, Sendable {
    public enum Head: Equatable, Sendable {
        /// inputs[0] through an activation (not PReLU, which has weights).
        case activation(Activation)
        /// inputs[0] + inputs[1] (same shape).
        case add
        /// inputs[0] * inputs[1]; the second may be N x C x 1 x 1.
        case mul
    }

    public var head: Head
    /// Applied in order to the head's result (activations other than PReLU, adds, multiplies).
    public var postOps: [PostOp]

    public init(head: Head, postOps: [PostOp] = []) {
        self.head = head
        self.postOps = postOps
    }

    /// The head of an unfused operation; nil for operations that cannot head a chain.
    public init?(_ op: Operation) {
        switch op {
        case .activation(.prelu): return nil
        case .activation(let a): self.init(head: .activation(a))
        case .add: self.init(head: .add)
        case .mul: self.init(head: .mul)
        case .elementwise(let e): self = e
        default: return nil
        }
    }

    /// The head as an operation of its own.
    public var headOperation: Operation {
        switch head {
        case .activation(let a): return .activation(a)
        case .add: return .add
        case .mul: return .mul
        }
    }
}

extension PostOp {
    /// The node whose output it reads (adds and multiplies).
    public var operand: Int? {
        switch self {
        case .add(let j), .mul(let j): return j
        case .activation: return nil
        }
    }

    var isPReLU: Bool {
        if case .activation(.prelu) = self { return true }
        return false
    }

    /// The same post-op reading node `map(operand)`.
    func remapped(_ map: (Int) -> Int) -> PostOp {
        switch self {
        case .add(let k): return .add(map(k))
        case .mul(let k): return .mul(map(k))
        case .activation: return self
        }
    }
}

extension Operation {
    /// The work fused after a convolution or an elementwise head; empty for other operations.
    public var postOps: [PostOp] {
        get {
            switch self {
            case .conv(let c): return c.postOps
            case .elementwise(let e): return e.postOps
            default: return []
            }
        }
        set {
            switch self {
            case .conv(var c): c.postOps = newValue; self = .conv(c)
            case .elementwise(var e): e.postOps = newValue; self = .elementwise(e)
            default: precondition(newValue.isEmpty, "\(self) takes no post-ops")
            }
        }
    }
}
