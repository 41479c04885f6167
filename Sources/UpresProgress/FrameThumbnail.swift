import Foundation

/// A small RGB picture of the last finished output frame (the dashboard's picture pane).
public struct FrameThumbnail: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Packed RGB, 3 bytes a pixel, `width * 3` bytes a row.
    public var rgb: [UInt8]
    /// The output frame it shows (1 = the first).
    public var frameNumber: Int

    public init(width: Int, height: Int, rgb: [UInt8], frameNumber: Int) {
        precondition(rgb.count == width * height * 3, "rgb is \(rgb.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.rgb = rgb
        self.frameNumber = frameNumber
    }

    public func pixel(_ x: Int, _ y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = 3 * (y * width + x)
        return (rgb[i], rgb[i + 1], rgb[i + 2])
    }
}
