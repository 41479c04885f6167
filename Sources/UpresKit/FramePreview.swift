import Foundation
import Synchronization
import UpresMedia

/// Where a job leaves thumbnails of its output for a front end: the front end says how large
/// a picture it wants while its pane is shown, the encode stage offers each encoded frame, and
/// the preview keeps a thumbnail of at most one every `interval` seconds (one every
/// `idleInterval` seconds, small, while no pane is shown: a pane opened during a pause has a
/// picture at once). Thread-safe: any thread may ask for the latest thumbnail.
public final class FramePreview: Sendable {
    private struct State {
        var wanted: (width: Int, height: Int)? = nil
        var latest: FrameThumbnail? = nil
        var madeAt = -Double.infinity
    }
    private let state = Mutex(State())
    public let interval: Double
    public let idleInterval: Double
    /// The thumbnail size while no pane asks for one.
    public static let idleSize = (width: 120, height: 68)

    public init(interval: Double = 0.25, idleInterval: Double = 1) {
        self.interval = interval
        self.idleInterval = idleInterval
    }

    /// The largest picture the pane can show (pixels); nil stops making thumbnails.
    public func request(width: Int, height: Int) {
        state.withLock { $0.wanted = width > 0 && height > 0 ? (width, height) : nil }
    }

    public func stop() { state.withLock { $0.wanted = nil } }

    public var latest: FrameThumbnail? { state.withLock { $0.latest } }

    /// The size a thumbnail of a `width` x `height` frame should have now, or nil when none is
    /// due (no pane, or the last one is recent). Called by the encode stage.
    func due(width: Int, height: Int, now: Double) -> (width: Int, height: Int)? {
        state.withLock { s in
            let w = s.wanted ?? Self.idleSize
            guard now - s.madeAt >= (s.wanted == nil ? idleInterval : interval) else { return nil }
            let scale = min(Double(w.width) / Double(width), Double(w.height) / Double(height), 1)
            return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
        }
    }

    func store(_ thumbnail: FrameThumbnail, now: Double) {
        state.withLock { s in
            s.latest = thumbnail
            s.madeAt = now
        }
    }
}

/// The encode stage's side of a `FramePreview`: converts an output frame to a small RGB
/// picture with swscale (bilinear, which averages when it shrinks) when one is due. Used on the encode thread only.
final class PreviewRenderer {
    let preview: FramePreview
    private var scaler: FrameScaler?
    private var scalerFor: (VideoFormat, Int, Int)?

    init(_ preview: FramePreview) { self.preview = preview }

    func offer(_ frame: Frame, format: VideoFormat, frameNumber: Int) {
        let now = ContinuousClock.now.secondsSinceReference
        guard let size = preview.due(width: Int(frame.width), height: Int(frame.height), now: now) else { return }
        var from = format
        from.width = frame.width
        from.height = frame.height
        from.pixelFormat = frame.format
        from.colour = frame.colour.filling(from: format.colour)
        do {
            if scaler == nil || scalerFor.map({ $0.0 != from || $0.1 != size.width || $0.2 != size.height }) ?? true {
                let to = VideoFormat(width: Int32(size.width), height: Int32(size.height), pixelFormat: PixelFormat.rgb24)
                scaler = try FrameScaler(from: from, to: to, filter: .bilinear, threads: 1)
                scalerFor = (from, size.width, size.height)
            }
            let small = try Frame(width: Int32(size.width), height: Int32(size.height), format: PixelFormat.rgb24)
            try scaler!.scale(frame, into: small)
            var rgb = [UInt8](repeating: 0, count: size.width * size.height * 3)
            let base = small.data(plane: 0)!, stride = small.lineSize(plane: 0)
            rgb.withUnsafeMutableBufferPointer { dst in
                for y in 0..<size.height {
                    (dst.baseAddress! + y * size.width * 3).update(from: base + y * stride, count: size.width * 3)
                }
            }
            preview.store(FrameThumbnail(width: size.width, height: size.height, rgb: rgb, frameNumber: frameNumber), now: now)
        } catch {
            preview.stop()   // a picture that cannot be made is not worth failing the job for
        }
    }
}

extension ContinuousClock.Instant {
    /// Seconds since an arbitrary fixed point (for intervals).
    var secondsSinceReference: Double {
        let d = self - ContinuousClock.Instant.reference
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
    private static let reference = ContinuousClock.now
}
