import CFFmpeg
import CMediaShims

/// Frames of one size and format whose buffer goes back to the pool when the last reference to
/// it goes (FFmpeg's thread-safe `AVBufferPool`): an encoder may still hold a frame it was sent,
/// so a buffer is reused only once nothing refers to it. After the first few frames of a job,
/// no frame buffer is allocated (and no fresh page faulted in). Formats the pool cannot lay out
/// (palettes) get ordinary frames.
public final class FramePool: @unchecked Sendable {
    public let width: Int32
    public let height: Int32
    public let format: AVPixelFormat
    private var pool: OpaquePointer?
    private var linesizes: [Int32] = [0, 0, 0, 0]
    private var offsets: [Int64] = [0, 0, 0, 0]

    public init(width: Int32, height: Int32, format: AVPixelFormat) {
        self.width = width
        self.height = height
        self.format = format
        let size = upres_frame_layout(width, height, format, &linesizes, &offsets)
        pool = size > 0 ? av_buffer_pool_init(Int(size), nil) : nil
    }

    deinit { if pool != nil { av_buffer_pool_uninit(&pool) } }   // buffers still out return and free themselves

    /// A frame from the pool; its samples are whatever the buffer held (write them all).
    public func frame() throws -> Frame {
        guard let pool else { return try Frame(width: width, height: height, format: format) }
        let f = Frame()
        f.pointer.pointee.width = width
        f.pointer.pointee.height = height
        f.pointer.pointee.format = format.rawValue
        try avCheck(upres_frame_attach_pooled(f.pointer, pool, linesizes, offsets), "av_buffer_pool_get",
                    "a pooled \(width)x\(height) \(PixelFormat.name(format)) frame")
        return f
    }
}
