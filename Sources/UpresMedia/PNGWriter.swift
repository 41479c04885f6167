import Foundation
import CFFmpeg
import CMediaShims

/// Writes one RGB24 frame as a PNG file with FFmpeg's png encoder. The file is written under a
/// temporary name in the same folder and renamed into place when complete.
public enum PNGWriter {
    public static func encode(_ frame: Frame) throws -> Data {
        guard frame.format == AV_PIX_FMT_RGB24 else {
            throw MediaInputError("internal: PNG pictures are written from rgb24 frames, not \(PixelFormat.name(frame.format))")
        }
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_PNG) else {
            throw MediaInputError("this FFmpeg build has no png encoder")
        }
        guard let ctx = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        defer { var c: UnsafeMutablePointer<AVCodecContext>? = ctx; avcodec_free_context(&c) }
        ctx.pointee.width = frame.width
        ctx.pointee.height = frame.height
        ctx.pointee.pix_fmt = AV_PIX_FMT_RGB24
        ctx.pointee.time_base = AVRational(num: 1, den: 1)
        ctx.pointee.compression_level = 9
        try avCheck(avcodec_open2(ctx, codec, nil), "avcodec_open2", "opening the png encoder")
        let pts = frame.pts
        frame.pts = 0
        defer { frame.pts = pts }
        try avCheck(avcodec_send_frame(ctx, frame.pointer), "avcodec_send_frame", "encoding a PNG picture")
        try avCheck(avcodec_send_frame(ctx, nil), "avcodec_send_frame", "finishing a PNG picture")
        let packet = Packet()
        var data = Data()
        while avcodec_receive_packet(ctx, packet.pointer) >= 0 {
            data.append(packet.pointer.pointee.data, count: packet.size)
            packet.unref()
        }
        guard !data.isEmpty else { throw MediaInputError("the png encoder returned no picture") }
        return data
    }

    /// Encodes `frame` and writes it to `path` (replacing what is there: the caller decides).
    public static func write(_ frame: Frame, to path: String) throws {
        let data = try encode(frame)
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).upres-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).part")
        do {
            try data.write(to: temp)
        } catch {
            throw MediaInputError("cannot write \(path): \(error.localizedDescription)")
        }
        guard rename(temp.path, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temp.path)
            throw MediaInputError("cannot move \(path) into place: \(message)")
        }
    }
}
