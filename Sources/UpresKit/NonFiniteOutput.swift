import UpresEngine

/// A network returned NaN or infinity where it should return pixels: damaged weights, or a
/// network that overflows. Its output is garbage, so the job stops (the tile writers store 0 for
/// NaN and clamp infinities, so no conversion traps before the error is raised).
///
///     clip.mp4: model /models/m.param produced non-finite values (NaN) in frame 3, tile at (128,0): ...
public struct NonFiniteOutputError: Error, CustomStringConvertible, Sendable {
    /// The model file, or the built-in model's name.
    public let model: String
    /// 1-based, in the order frames reach the network in this pass.
    public let frame: Int
    /// Top-left corner of the tile's core, in input pixels.
    public let x: Int
    public let y: Int
    /// "NaN", "infinity" or "NaN and infinity".
    public let kind: String
    public let precision: Precision

    public var description: String {
        "model \(model) produced non-finite values (\(kind)) in frame \(frame), tile at (\(x),\(y)): "
            + "its weights are damaged or the network overflows"
            + (precision == .bf16 ? " (it ran in bf16; if the weights are intact, try --precision fp32)" : "")
    }

    /// The same error with the frame counted from an earlier start (frames of earlier segments).
    public func counting(from framesBefore: Int) -> NonFiniteOutputError {
        NonFiniteOutputError(model: model, frame: frame + framesBefore, x: x, y: y, kind: kind, precision: precision)
    }

    /// What the non-finite values of a `w` x `h` region of `planes` planes are (`planeStride`
    /// floats apart, `stride` floats per row). Only called once a writer reported one.
    static func kind(_ src: UnsafePointer<Float>, w: Int, h: Int, stride: Int, planes: Int = 1, planeStride: Int = 0) -> String {
        var nan = false, infinite = false
        for p in 0..<planes {
            for j in 0..<h {
                let row = src + p * planeStride + j * stride
                for i in 0..<w {
                    if row[i].isNaN { nan = true } else if row[i].isInfinite { infinite = true }
                }
            }
        }
        return nan && infinite ? "NaN and infinity" : infinite ? "infinity" : "NaN"
    }
}

/// Float -> code value with NaN stored as 0 and infinities clamped: never a trap.
enum CodeValue {
    /// `v` (already scaled and offset for rounding) clamped to 0...max; NaN fails `v > 0`.
    @inline(__always) static func clamp(_ v: Float, _ max: Float) -> Float {
        v > 0 ? (v < max ? v : max) : 0
    }

    /// 1 when `f` is NaN or infinite (all exponent bits set), else 0: branch-free, for folding
    /// into the writers' loops.
    @inline(__always) static func nonFinite(_ f: Float) -> UInt32 {
        (f.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
    }
}
