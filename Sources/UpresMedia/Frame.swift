import CFFmpeg
import CMediaShims

/// Owns one `AVFrame` (freed in `deinit`).
///
/// Frames hold reference-counted buffers; an encoder may keep a reference to the
/// buffers of a frame it was sent, so a frame is never written to after sending
/// unless `makeWritable()` was called first.
public final class Frame: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVFrame>

    public init() {
        guard let frame = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        pointer = frame
    }

    /// A frame with fresh, 64-byte aligned buffers (AVX-512 loads).
    public convenience init(width: Int32, height: Int32, format: AVPixelFormat) throws {
        self.init()
        pointer.pointee.width = width
        pointer.pointee.height = height
        pointer.pointee.format = format.rawValue
        try avCheck(av_frame_get_buffer(pointer, 64), "av_frame_get_buffer",
                  "allocating a \(width)x\(height) \(PixelFormat.name(format)) frame")
    }

    deinit {
        var frame: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&frame)
    }

    public var width: Int32 { pointer.pointee.width }
    public var height: Int32 { pointer.pointee.height }
    public var format: AVPixelFormat { AVPixelFormat(rawValue: pointer.pointee.format) }
    public var pts: Int64 {
        get { pointer.pointee.pts }
        set { pointer.pointee.pts = newValue }
    }
    /// The decoder's best guess of the presentation time, in the stream time base.
    public var bestEffortTimestamp: Int64 { pointer.pointee.best_effort_timestamp }
    /// Duration in the stream time base (0 when unknown).
    public var duration: Int64 {
        get { upres_frame_duration(pointer) }
        set { upres_frame_set_duration(pointer, newValue) }
    }
    public var isKeyFrame: Bool { upres_frame_is_key(pointer) != 0 }
    public var sampleAspectRatio: Rational {
        get { pointer.pointee.sample_aspect_ratio }
        set { pointer.pointee.sample_aspect_ratio = newValue }
    }

    /// Keeps the top-left `width` x `height` of the picture (the planes stay; encoders read
    /// that much of them).
    public func crop(width: Int32, height: Int32) {
        pointer.pointee.width = width
        pointer.pointee.height = height
    }

    /// The colour tags the frame carries (unspecified where it states none).
    public var colour: ColourDescription { ColourDescription(frame: pointer) }

    /// States the frame's range and matrix (what the encoder is told it holds).
    public func setColour(_ colour: ColourDescription) {
        pointer.pointee.color_range = colour.range
        pointer.pointee.colorspace = colour.matrix
    }

    public func data(plane: Int) -> UnsafeMutablePointer<UInt8>? { upres_frame_data(pointer, Int32(plane)) }
    public func lineSize(plane: Int) -> Int { Int(upres_frame_linesize(pointer, Int32(plane))) }

    /// Copies pts, colour properties, side data and metadata (not the pixels) from `other`.
    public func copyProperties(from other: Frame) throws {
        try avCheck(av_frame_copy_props(pointer, other.pointer), "av_frame_copy_props", "copying frame properties")
    }

    public func makeWritable() throws {
        try avCheck(av_frame_make_writable(pointer), "av_frame_make_writable", "reusing a frame")
    }

    public func unref() { av_frame_unref(pointer) }

    /// Clears the picture type the decoder set, so the encoder picks its own (I, P, B).
    public func letEncoderChoosePictureType() { pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE }

    /// A new frame sharing this one's buffers (reference-counted, no pixel copy): keeps a
    /// decoded picture alive after the decoder reuses its own frame.
    public func reference() throws -> Frame {
        let f = Frame()
        try avCheck(av_frame_ref(f.pointer, pointer), "av_frame_ref", "keeping a decoded frame")
        return f
    }
}

/// Owns one `AVPacket`.
public final class Packet: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<AVPacket>

    public init() {
        guard let packet = av_packet_alloc() else { fatalError("av_packet_alloc: out of memory") }
        pointer = packet
    }

    deinit {
        var packet: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&packet)
    }

    public var streamIndex: Int32 {
        get { pointer.pointee.stream_index }
        set { pointer.pointee.stream_index = newValue }
    }
    public var pts: Int64 { pointer.pointee.pts }
    public var dts: Int64 {
        get { pointer.pointee.dts }
        set { pointer.pointee.dts = newValue }
    }
    /// In the stream's time base; 0 when unknown.
    public var duration: Int64 {
        get { pointer.pointee.duration }
        set { pointer.pointee.duration = newValue }
    }
    /// Forgets the packet's byte position in its source file (a muxer would write it as the
    /// output's).
    public func clearPosition() { pointer.pointee.pos = -1 }
    public var size: Int { Int(pointer.pointee.size) }
    public var isKey: Bool { upres_packet_is_key(pointer) != 0 }
    public var isCorrupt: Bool { (pointer.pointee.flags & AV_PKT_FLAG_CORRUPT) != 0 }

    public func rescaleTimestamps(from source: AVRational, to destination: AVRational) {
        av_packet_rescale_ts(pointer, source, destination)
    }

    public func unref() { av_packet_unref(pointer) }
}

/// The "no timestamp" value (`AV_NOPTS_VALUE`).
public let noTimestamp: Int64 = UPRES_AV_NOPTS_VALUE
