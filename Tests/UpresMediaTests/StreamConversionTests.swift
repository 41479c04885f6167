import Foundation
import Testing
import CFFmpeg
@testable import UpresKit
@testable import UpresMedia

/// What becomes of a stream the output container cannot hold: the plan for each kind, made
/// with FFmpeg's real muxers and encoders on streams described by their parameters.
@Suite("Converting streams an output container cannot hold")
struct StreamConversionTests {
    /// An input-like context with one stream of `codec` (a real AVStream, as demuxers make them).
    final class FakeStream {
        let context: UnsafeMutablePointer<AVFormatContext>
        let stream: UnsafeMutablePointer<AVStream>
        init(_ codec: String, type: AVMediaType, sampleRate: Int32 = 44100, channels: Int32 = 2) {
            context = avformat_alloc_context()!
            stream = avformat_new_stream(context, nil)!
            let par = stream.pointee.codecpar!
            par.pointee.codec_type = type
            par.pointee.codec_id = avcodec_descriptor_get_by_name(codec)!.pointee.id
            stream.pointee.time_base = AVRational(num: 1, den: 1000)
            if type == AVMEDIA_TYPE_AUDIO {
                par.pointee.sample_rate = sampleRate
                av_channel_layout_default(&par.pointee.ch_layout, channels)
                par.pointee.format = AV_SAMPLE_FMT_S16.rawValue
            }
            if codec == "opus" {   // OpusHead, as every Opus stream carries (MP4 writes it in its header)
                let head: [UInt8] = Array("OpusHead".utf8) + [1, UInt8(channels), 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]
                let buf = av_mallocz(head.count + Int(AV_INPUT_BUFFER_PADDING_SIZE))!.assumingMemoryBound(to: UInt8.self)
                buf.update(from: head, count: head.count)
                par.pointee.extradata = buf
                par.pointee.extradata_size = Int32(head.count)
            }
        }
        deinit { avformat_free_context(context) }
    }

    static func output(_ name: String) throws -> OutputFile {
        try OutputFile(path: NSTemporaryDirectory() + "upres-plan-never-written.\(name)", format: OutputFile.muxer(for: "x.\(name)")!)
    }

    struct Expectation: CustomTestStringConvertible, Sendable {
        let codec: String
        let container: String
        /// nil: held as it is; a codec name: converted to it; "skip": skipped.
        let becomes: String?
        var testDescription: String { "\(codec) into .\(container) -> \(becomes ?? "copy")" }
    }

    static let audio: [Expectation] = [
        Expectation(codec: "aac", container: "mp4", becomes: nil),
        Expectation(codec: "aac", container: "webm", becomes: "opus"),
        Expectation(codec: "mp3", container: "webm", becomes: "opus"),
        Expectation(codec: "pcm_s16le", container: "mp4", becomes: "aac"),
        Expectation(codec: "pcm_s16le", container: "mov", becomes: nil),
        Expectation(codec: "flac", container: "mp4", becomes: "aac"),     // "experimental" in MP4
        Expectation(codec: "opus", container: "mov", becomes: "aac"),     // "only supported in MP4"
        Expectation(codec: "opus", container: "mp4", becomes: nil),
        Expectation(codec: "pcm_s16le", container: "ts", becomes: "aac"),   // no MPEG-TS stream type
        Expectation(codec: "ac3", container: "ts", becomes: nil),
    ]

    static let subtitles: [Expectation] = [
        Expectation(codec: "subrip", container: "mp4", becomes: "mov_text"),
        Expectation(codec: "webvtt", container: "mov", becomes: "mov_text"),
        Expectation(codec: "subrip", container: "webm", becomes: "webvtt"),
        Expectation(codec: "mov_text", container: "mkv", becomes: "subrip"),
        Expectation(codec: "webvtt", container: "mkv", becomes: nil),
        Expectation(codec: "hdmv_pgs_subtitle", container: "mp4", becomes: "skip"),
        Expectation(codec: "dvb_subtitle", container: "mov", becomes: "skip"),
        Expectation(codec: "dvd_subtitle", container: "mp4", becomes: nil),
        Expectation(codec: "subrip", container: "avi", becomes: "skip"),  // AVI holds DivX XSUB only
    ]

    @Test("audio: kept, or re-encoded to what the container holds", arguments: audio)
    func audioPlan(_ e: Expectation) throws {
        try check(e, type: AVMEDIA_TYPE_AUDIO)
    }

    @Test("subtitles: kept, text converted to a text format the container holds, bitmaps skipped", arguments: subtitles)
    func subtitlePlan(_ e: Expectation) throws {
        try check(e, type: AVMEDIA_TYPE_SUBTITLE)
    }

    func check(_ e: Expectation, type: AVMediaType) throws {
        let source = FakeStream(e.codec, type: type)
        let out = try Self.output(e.container)
        let holds = StreamConversion.holds(source.stream, in: out)
        #expect(holds == (e.becomes == nil), "holds: \(holds)")
        guard let becomes = e.becomes else { return }
        switch StreamConversion.plan(source.stream, index: 1, into: out) {
        case .success(let c):
            #expect(becomes != "skip", "converted: \(c.summary)")
            let ost = out.addStream()
            try c.configure(ost)
            let name = avcodec_get_name(ost.pointee.codecpar.pointee.codec_id).map { String(cString: $0) }
            #expect(name == becomes, "\(c.summary)")
            #expect(c.summary.contains("stream #1 (\(e.codec) -> ") && c.summary.contains("cannot hold \(e.codec)"), "\(c.summary)")
        case .failure(let skip):
            #expect(becomes == "skip", "skipped: \(skip.reason)")
            if e.codec.contains("pgs") || e.codec.contains("dvb") {
                #expect(skip.reason.contains("bitmap subtitles cannot be converted to text"), "\(skip.reason)")
            }
        }
    }

    @Test("the encoder gets the source's rate and layout where it takes them, else the nearest")
    func audioFormatChoice() throws {
        let opus = avcodec_find_encoder_by_name("libopus")!, aac = avcodec_find_encoder_by_name("aac")!
        var stereo = AVChannelLayout(), six = AVChannelLayout()
        av_channel_layout_default(&stereo, 2)
        av_channel_layout_default(&six, 6)
        defer { av_channel_layout_uninit(&stereo); av_channel_layout_uninit(&six) }
        let cd = AudioFormat(sampleRate: 44100, sampleFormat: AV_SAMPLE_FMT_S16, layout: &stereo)
        let o = AudioTranscoder.choose(for: opus, source: cd).format
        #expect(o.sampleRate == 48000 && o.layout == "stereo" && o.sampleFormat == AV_SAMPLE_FMT_S16)
        let a = AudioTranscoder.choose(for: aac, source: cd).format
        #expect(a.sampleRate == 44100 && a.layout == "stereo" && a.sampleFormat == AV_SAMPLE_FMT_FLTP)
        let surround = AudioFormat(sampleRate: 48000, sampleFormat: AV_SAMPLE_FMT_FLTP, layout: &six)
        #expect(AudioTranscoder.choose(for: aac, source: surround).format.channels == 6)
    }
}
