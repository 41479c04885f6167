import Foundation
import CFFmpeg

/// The output container: chosen by `-f NAME` or by the output's extension, with what some
/// muxers need besides streams (options, pixel formats).
public enum OutputContainer {
    /// Containers that stream well through a pipe (suggested in messages).
    public static let pipeFormats = ["nut", "matroska", "mpegts", "yuv4mpegpipe"]

    /// Whether FFmpeg has a muxer of this name (`-f` names, as `ffmpeg -f`).
    public static func exists(_ name: String) -> Bool { muxer(named: name) != nil }

    /// By FFmpeg's name (`matroska`, `mpegts`), else by an extension (`mkv`, `ts`, `y4m`).
    static func muxer(named name: String) -> UnsafePointer<AVOutputFormat>? {
        if let m = av_guess_format(name, nil, nil), String(cString: m.pointee.name) == name { return m }
        guard !name.isEmpty, !name.contains("/"), !name.contains("%") else { return nil }
        return av_guess_format(nil, "x.\(name)", nil)
    }

    /// The muxer for `output`: the one `format` names, else the one its extension implies.
    static func muxer(for output: String, format: String?) throws -> UnsafePointer<AVOutputFormat> {
        if let format {
            guard let m = muxer(named: format) else {
                throw MediaInputError("unknown container format '\(format)' for -f/--format (e.g. "
                                      + (pipeFormats + ["mp4", "webm"]).joined(separator: ", ") + ")")
            }
            return m
        }
        if StandardStream.isPipe(output) {
            throw MediaInputError("writing to stdout (-o -) needs the container: add -f/--format NAME ("
                                  + pipeFormats.joined(separator: ", ") + ")")
        }
        guard let m = OutputFile.muxer(for: output) else {
            let ext = (output as NSString).pathExtension
            throw MediaInputError("unknown output container '.\(ext)' (use .mp4, .mkv, .mov, .webm, .y4m, .png, .jpg, "
                                  + "or an image pattern like %05d.png)")
        }
        return m
    }

    /// Options for `avformat_write_header`: MP4 puts its index first in a file (`faststart`) and
    /// is fragmented into a pipe; an image name is rewritten per frame (`update`); YUV4MPEG takes
    /// FFmpeg's deeper-than-8-bit extensions.
    public static func muxOptions(format: String, target: String, segment: Bool, imageMuxer: Bool) -> [(String, String)] {
        var options: [(String, String)] = []
        if imageMuxer && !ImageSequence.isPattern(target) { options.append(("update", "1")) }
        if ["mp4", "mov", "ipod", "3gp"].contains(format) && !segment {
            options.append(("movflags", StandardStream.isPipe(target) ? "+frag_keyframe+empty_moov+default_base_moof" : "+faststart"))
        }
        if format == "yuv4mpegpipe" { options.append(("strict", "unofficial")) }
        return options
    }

    /// Where a one-pass job's packets go: the file, or for YUV4MPEG a `FrameNumbering` in front.
    public static func sink(_ out: OutputFile) -> PacketSink {
        holdsVideoOnly(out.formatName) ? FrameNumbering(out) : out
    }

    /// YUV4MPEG states the frame rate as its stream's time base: make that 1/fps (it keeps no
    /// timestamps; frames follow one another, `FrameNumbering`).
    static func setFrameTimeBase(_ stream: UnsafeMutablePointer<AVStream>, format: String, frameRate: AVRational) {
        guard format == "yuv4mpegpipe", frameRate.num > 0, frameRate.den > 0 else { return }
        stream.pointee.time_base = av_inv_q(frameRate)
    }

    /// Containers of one video stream and nothing else (YUV4MPEG).
    public static func holdsVideoOnly(_ muxer: String) -> Bool { muxer == "yuv4mpegpipe" }

    /// The pixel formats a muxer itself limits the video to, whatever the encoder takes (nil: no
    /// limit). YUV4MPEG: planar YUV and grey, 8 to 16 bits.
    static func pixelFormats(muxer: String) -> [AVPixelFormat]? {
        guard muxer == "yuv4mpegpipe" else { return nil }
        var names = ["yuv420p", "yuv422p", "yuv444p", "yuv411p", "yuvj420p", "yuvj422p", "yuvj444p", "yuva444p",
                     "gray", "gray9le", "gray10le", "gray12le", "gray16le"]
        for depth in [9, 10, 12, 14, 16] { names += ["yuv420p\(depth)le", "yuv422p\(depth)le", "yuv444p\(depth)le"] }
        return names.compactMap(PixelFormat.named)
    }

    /// `chosen` when the muxer takes it, else the muxer's least lossy format for it; an explicit
    /// `--pix-fmt` the muxer refuses is an error.
    static func pixelFormat(_ chosen: AVPixelFormat, muxer: String, explicit: Bool) throws -> AVPixelFormat {
        guard let list = pixelFormats(muxer: muxer), !list.contains(chosen) else { return chosen }
        if explicit {
            throw MediaInputError("the \(muxer) container does not take pixel format \(PixelFormat.name(chosen)) (it takes: "
                                  + list.map(PixelFormat.name).joined(separator: ", ") + ")")
        }
        var terminated = list + [AV_PIX_FMT_NONE]
        return terminated.withUnsafeMutableBufferPointer { avcodec_find_best_pix_fmt_of_list($0.baseAddress, chosen, 0, nil) }
    }

    /// Checks the encoder against what the container holds beyond `avformat_query_codec` (which
    /// YUV4MPEG does not answer) and returns the pixel format to encode in.
    static func check(codec: UnsafePointer<AVCodec>, pixelFormat: AVPixelFormat, muxer: String,
                      explicitPixelFormat: Bool) throws -> AVPixelFormat {
        if muxer == "yuv4mpegpipe" && codec.pointee.id != AV_CODEC_ID_WRAPPED_AVFRAME {
            throw MediaInputError("the yuv4mpegpipe container holds raw frames only: leave out --codec")
        }
        return try self.pixelFormat(pixelFormat, muxer: muxer, explicit: explicitPixelFormat)
    }
}

/// YUV4MPEG keeps no timestamps (frames follow one another at the header's rate) but its muxer
/// still wants increasing ones, which source times rescaled to 1/fps are not always (0.504 and
/// 0.496 frame times both round to 1): the video's packets are numbered 0, 1, 2...
final class FrameNumbering: PacketSink {
    private let out: OutputFile
    private var next: Int64 = 0

    init(_ out: OutputFile) { self.out = out }

    func write(_ packet: Packet) throws {
        packet.pointer.pointee.pts = next
        packet.pointer.pointee.dts = next
        packet.pointer.pointee.duration = 1
        next += 1
        try out.write(packet)
    }

    var bytesWritten: Int64 { out.bytesWritten }
}
