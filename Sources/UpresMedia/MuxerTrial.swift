import CFFmpeg
import CMediaShims

/// Asks a muxer itself whether it takes a stream: a header with that one stream, written into
/// memory. `avformat_query_codec` answers from codec tag tables, which say yes to what some
/// muxers refuse when they start (MOV: "opus only supported in MP4"; MP4: FLAC and TrueHD
/// "experimental"). Memory is not seekable: give the options that let the muxer write into a
/// pipe (`movflags=frag_keyframe+empty_moov` for MP4).
public enum MuxerTrial {
    static func accepts(_ format: UnsafePointer<AVOutputFormat>, parameters: UnsafePointer<AVCodecParameters>,
                               timeBase: AVRational, options: [(String, String)] = []) -> Bool {
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_alloc_output_context2(&ctx, format, nil, nil) >= 0, let oc = ctx else { return true }
        defer {
            if upres_format_is_nofile(oc) == 0, let pb = oc.pointee.pb {
                var bytes: UnsafeMutablePointer<UInt8>? = nil
                _ = avio_close_dyn_buf(pb, &bytes)
                av_free(bytes)
                oc.pointee.pb = nil
            }
            avformat_free_context(oc)
        }
        guard let st = avformat_new_stream(oc, nil), avcodec_parameters_copy(st.pointee.codecpar, parameters) >= 0 else { return true }
        st.pointee.codecpar.pointee.codec_tag = 0
        st.pointee.time_base = timeBase
        if upres_format_is_nofile(oc) == 0 && avio_open_dyn_buf(&oc.pointee.pb) < 0 { return true }
        var dict: OpaquePointer? = nil
        defer { av_dict_free(&dict) }
        for (k, v) in options { av_dict_set(&dict, k, v, 0) }
        guard avformat_write_header(oc, &dict) >= 0 else { return false }
        _ = av_write_trailer(oc)
        return true
    }
}
