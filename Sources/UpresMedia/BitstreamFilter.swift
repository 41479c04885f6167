import CFFmpeg
import CMediaShims

/// A bitstream filter (`AVBSFContext`) on one stream's packets, e.g. `aac_adtstoasc`, which
/// strips the ADTS headers of AAC from MPEG-TS for MP4 and Matroska.
///
///     let f = try BitstreamFilter("aac_adtstoasc", parameters: par, timeBase: tb)
///     try f.filter(packet) { try out.write($0) }
public final class BitstreamFilter {
    private let context: UnsafeMutablePointer<AVBSFContext>
    public let name: String
    /// Packets the filter refused (damaged headers): dropped.
    public private(set) var rejected = 0

    init(_ name: String, parameters: UnsafePointer<AVCodecParameters>, timeBase: AVRational) throws {
        self.name = name
        guard let filter = av_bsf_get_by_name(name) else {
            throw MediaInputError("this FFmpeg build has no bitstream filter '\(name)'")
        }
        var ctx: UnsafeMutablePointer<AVBSFContext>? = nil
        try avCheck(av_bsf_alloc(filter, &ctx), "av_bsf_alloc", name)
        context = ctx!
        // (A throwing init still runs deinit, which frees the context.)
        try avCheck(avcodec_parameters_copy(context.pointee.par_in, parameters), "avcodec_parameters_copy", name)
        context.pointee.time_base_in = timeBase
        try avCheck(av_bsf_init(context), "av_bsf_init", name)
    }

    deinit {
        var ctx: UnsafeMutablePointer<AVBSFContext>? = context
        av_bsf_free(&ctx)
    }

    /// Filters `packet` (consumed) and hands every packet that comes out to `emit`.
    public func filter(_ packet: Packet, emit: (Packet) throws -> Void) throws {
        if av_bsf_send_packet(context, packet.pointer) < 0 {
            rejected += 1
            packet.unref()
            return
        }
        while true {
            let r = av_bsf_receive_packet(context, packet.pointer)
            if r == MediaError.tryAgain || r == MediaError.endOfFile { return }
            if r < 0 {
                rejected += 1
                return
            }
            try emit(packet)
        }
    }
}
