import CFFmpeg

/// A stream, other than the upscaled video, that the output container cannot hold as it is,
/// converted to a codec it does hold: audio re-encoded (AAC for MP4/MOV, Opus for WebM...),
/// text subtitles re-encoded (mov_text for MP4/MOV, WebVTT for WebM). `plan` says which, or why
/// there is none (bitmap subtitles into MP4: skipped with that reason).
///
///     switch StreamConversion.plan(ist, index: i, into: out) {
///     case .success(let c): try c.configure(ost)   // then c.send(packet) / c.finish for its packets
///     case .failure(let skip): warn(skip.reason)
///     }
public final class StreamConversion {
    private enum Transcoder {
        case audio(AudioTranscoder)
        case subtitles(SubtitleTranscoder)
    }
    private let transcoder: Transcoder
    /// For the job's warnings: what was converted into what, and why.
    public let summary: String
    /// "audio stream #1".
    private let label: String

    public struct Skip: Error {
        public let reason: String
    }

    /// Encoders tried in order; the first the container holds is used.
    static let audioEncoders = ["aac", "libopus", "libvorbis", "mp2", "ac3", "flac"]
    static let subtitleEncoders = ["mov_text", "subrip", "ass", "webvtt"]

    private init(_ transcoder: Transcoder, label: String, summary: String) {
        self.transcoder = transcoder
        self.label = label
        self.summary = summary
    }

    /// Whether `out` holds input stream `ist` as it is: the muxer's tag table says so and the
    /// muxer itself takes it (`MuxerTrial`: MOV refuses Opus, MP4 FLAC, AVI text subtitles when
    /// they start, though their tables list them). MPEG-TS takes anything, writing what it has
    /// no stream type for as private data nobody reads back: only its known codecs count.
    static func holds(_ ist: UnsafeMutablePointer<AVStream>, in out: OutputFile) -> Bool {
        let par = ist.pointee.codecpar!
        guard out.canHold(codec: par.pointee.codec_id) != false else { return false }
        if out.formatName == "mpegts" && [AVMEDIA_TYPE_AUDIO, AVMEDIA_TYPE_SUBTITLE].contains(par.pointee.codec_type) {
            return mpegtsCodecs.contains(par.pointee.codec_id)
        }
        return acceptedForReal(par, timeBase: ist.pointee.time_base, by: out)
    }

    /// What FFmpeg's MPEG-TS muxer has a stream type for (libavformat/mpegtsenc.c).
    static let mpegtsCodecs: Set<AVCodecID> = [AV_CODEC_ID_MP2, AV_CODEC_ID_MP3, AV_CODEC_ID_AAC, AV_CODEC_ID_AAC_LATM,
                                               AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3, AV_CODEC_ID_DTS, AV_CODEC_ID_TRUEHD,
                                               AV_CODEC_ID_OPUS, AV_CODEC_ID_S302M, AV_CODEC_ID_DVB_SUBTITLE,
                                               AV_CODEC_ID_DVB_TELETEXT]

    /// The trial writes into memory, which cannot seek: MP4 is asked as for a pipe (fragmented),
    /// and Matroska is not asked (its table is exact, and without seeking it would refuse AAC
    /// whose configuration comes with the first packet, which into a file it takes).
    private static func acceptedForReal(_ par: UnsafePointer<AVCodecParameters>, timeBase: AVRational, by out: OutputFile) -> Bool {
        if ["matroska", "webm"].contains(out.formatName) { return true }
        let mp4 = ["mp4", "mov", "ipod", "3gp", "3g2", "psp", "ismv", "f4v"].contains(out.formatName)
        return MuxerTrial.accepts(out.format, parameters: par, timeBase: timeBase,
                                  options: mp4 ? [("movflags", "frag_keyframe+empty_moov")] : [])
    }

    /// The conversion of input stream `index` for `out`, or why there is none.
    static func plan(_ ist: UnsafeMutablePointer<AVStream>, index: Int, into out: OutputFile) -> Result<StreamConversion, Skip> {
        let par = ist.pointee.codecpar!
        let type = par.pointee.codec_type
        let from = MediaNames.codec(par.pointee.codec_id)
        let container = out.formatName
        func accepted(_ encoderPar: (UnsafeMutablePointer<AVCodecParameters>) throws -> Void, _ tb: AVRational) -> Bool {
            guard let p = avcodec_parameters_alloc() else { return false }
            var owned: UnsafeMutablePointer<AVCodecParameters>? = p
            defer { avcodec_parameters_free(&owned) }
            guard (try? encoderPar(p)) != nil, out.canHold(codec: p.pointee.codec_id) != false else { return false }
            return acceptedForReal(p, timeBase: tb, by: out)
        }
        var failure: Error? = nil   // the first conversion that could not be set up, and why
        func attempt<T>(_ make: () throws -> T) -> T? {
            do { return try make() } catch { if failure == nil { failure = error }; return nil }
        }
        func none(_ what: String) -> Skip {
            Skip(reason: "the \(container) container cannot hold it, " + (failure.map { "and converting it failed: \($0)" } ?? what))
        }
        switch type {
        case AVMEDIA_TYPE_AUDIO:
            for name in audioEncoders {
                guard let codec = avcodec_find_encoder_by_name(name), out.canHold(codec: codec.pointee.id) != false,
                      let t = attempt({ try AudioTranscoder(source: par, timeBase: ist.pointee.time_base, encoder: name,
                                                            globalHeader: out.needsGlobalHeader) }),
                      accepted(t.parameters, t.timeBase) else { continue }
                let to = avcodec_get_name(codec.pointee.id).map { String(cString: $0) } ?? name
                return .success(StreamConversion(.audio(t), label: "audio stream #\(index)", summary: "converted audio stream #\(index) (\(from) -> \(to), "
                                                 + "\(t.output)): the \(container) container cannot hold \(from)"))
            }
            return .failure(none("nor any audio codec this FFmpeg build encodes"))
        case AVMEDIA_TYPE_SUBTITLE:
            guard SubtitleTranscoder.isText(par.pointee.codec_id) else {
                return .failure(Skip(reason: "the \(container) container cannot hold it, and bitmap subtitles cannot be converted to text"))
            }
            for name in subtitleEncoders {
                guard let codec = avcodec_find_encoder_by_name(name), out.canHold(codec: codec.pointee.id) == true,
                      let t = attempt({ try SubtitleTranscoder(source: par, timeBase: ist.pointee.time_base, encoder: name) }),
                      accepted(t.parameters, t.timeBase) else { continue }
                return .success(StreamConversion(.subtitles(t), label: "subtitle stream #\(index)", summary: "converted subtitle stream #\(index) (\(from) -> \(name)): "
                                                 + "the \(container) container cannot hold \(from)"))
            }
            return .failure(none("nor any text subtitle format"))
        default:
            return .failure(Skip(reason: "the \(container) container cannot hold it"))
        }
    }

    /// Sets up the output stream: the encoder's parameters and time base.
    func configure(_ ost: UnsafeMutablePointer<AVStream>) throws {
        switch transcoder {
        case .audio(let t): try t.parameters(into: ost.pointee.codecpar)
        case .subtitles(let t): try t.parameters(into: ost.pointee.codecpar)
        }
        ost.pointee.time_base = timeBase
    }

    /// The time base of the packets `send` and `finish` produce.
    public var timeBase: AVRational {
        switch transcoder {
        case .audio(let t): return t.timeBase
        case .subtitles(let t): return t.timeBase
        }
    }

    /// Converts a packet of the source stream (in the input stream's time base).
    public func send(_ packet: Packet, emit: (Packet) throws -> Void) throws {
        switch transcoder {
        case .audio(let t): try t.send(packet, emit: emit)
        case .subtitles(let t): try t.send(packet, emit: emit)
        }
    }

    /// At the end of the input: what the audio encoder still holds.
    public func finish(emit: (Packet) throws -> Void) throws {
        if case .audio(let t) = transcoder { try t.finish(emit: emit) }
    }

    /// Damaged packets skipped, for the job's warnings.
    public var warnings: [String] {
        let n: Int
        switch transcoder {
        case .audio(let t): n = t.undecodable
        case .subtitles(let t): n = t.undecodable
        }
        return n > 0 ? ["\(label): \(n) damaged packets skipped in the conversion"] : []
    }
}
