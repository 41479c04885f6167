import Foundation
import UpresMedia

/// How big the output should be.
public enum TargetSize: Equatable, Sendable {
    /// An integer factor on both axes (2, 3, 4).
    case scale(Int)
    /// A target width and/or height; a missing side (or both given) keeps the aspect ratio,
    /// fitting inside the box.
    case box(width: Int?, height: Int?)

    /// The output size for a source of `width` x `height` pixels.
    public func outputSize(width: Int32, height: Int32) -> (width: Int32, height: Int32) {
        switch self {
        case .scale(let s):
            return (width * Int32(s), height * Int32(s))
        case .box(let w?, nil):
            return (Int32(w), TargetSize.even(Double(height) * Double(w) / Double(width)))
        case .box(nil, let h?):
            return (TargetSize.even(Double(width) * Double(h) / Double(height)), Int32(h))
        case .box(let w?, let h?):
            // Fit inside the box; the side that follows the aspect ratio is rounded to even.
            if Double(w) / Double(width) <= Double(h) / Double(height) {
                return (Int32(w), min(Int32(h), TargetSize.even(Double(height) * Double(w) / Double(width))))
            }
            return (min(Int32(w), TargetSize.even(Double(width) * Double(h) / Double(height))), Int32(h))
        case .box(nil, nil):
            return (width, height)
        }
    }

    /// Derived sides are rounded to an even number, as 4:2:0 encoders need (like ffmpeg's scale=-2).
    static func even(_ v: Double) -> Int32 { max(2, Int32((v / 2).rounded()) * 2) }

    /// The part of the default output name that describes the size (`x2`, `1920x1080`).
    public var label: String {
        switch self {
        case .scale(let s): return "x\(s)"
        case .box(let w, let h): return "\(w.map(String.init) ?? "")x\(h.map(String.init) ?? "")"
        }
    }
}
