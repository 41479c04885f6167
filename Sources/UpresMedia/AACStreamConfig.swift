import CFFmpeg

/// The AudioSpecificConfig (ISO 14496-3 1.6.2.1) of an AAC stream whose packets carry ADTS
/// headers and whose parameters have no extradata (AAC from MPEG-TS). Matroska and MP4 need it in
/// their header; into a file the muxer rewrites the header at the end, but a pipe cannot be
/// rewound, so without it `avformat_write_header` fails (the ffmpeg CLI fails the same way).
/// The packets' ADTS headers are then stripped with `aac_adtstoasc` (`BitstreamFilter`).
public enum AACStreamConfig {
    static let sampleRates: [Int32] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    /// Fills `par.extradata` when it is AAC without one and the profile, rate and channel count
    /// say what to write; returns whether it did.
    @discardableResult
    static func fillIfMissing(_ par: UnsafeMutablePointer<AVCodecParameters>) -> Bool {
        let p = par.pointee
        // Channel configurations 1-6 are 1-6 channels, 7 is 7.1 (8 channels).
        let n = p.ch_layout.nb_channels
        guard p.codec_id == AV_CODEC_ID_AAC, p.extradata_size == 0, p.profile >= 0, p.profile < 31,
              let rate = sampleRates.firstIndex(of: p.sample_rate), (1...6).contains(n) || n == 8 else { return false }
        let objectType = UInt16(p.profile + 1)   // FF_PROFILE_AAC_* is the object type - 1
        let config = objectType << 11 | UInt16(rate) << 7 | UInt16(n == 8 ? 7 : n) << 3
        guard let buf = av_mallocz(2 + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else { return false }
        let bytes = buf.assumingMemoryBound(to: UInt8.self)
        bytes[0] = UInt8(config >> 8)
        bytes[1] = UInt8(config & 0xff)
        par.pointee.extradata = bytes
        par.pointee.extradata_size = 2
        return true
    }

    /// An `aac_adtstoasc` filter for copied AAC stream `index` of `input` that has no
    /// AudioSpecificConfig (ADTS in MPEG-TS...), written to stream `outputStream` of `out`:
    /// the output stream gets its configuration now, the packets lose their ADTS headers.
    /// nil when the stream is not such a stream.
    public static func adtsFilter(from input: InputFile, stream index: Int, to out: OutputFile,
                                  outputStream: Int) throws -> BitstreamFilter? {
        let ist = input.stream(index), ost = out.stream(outputStream)
        guard ist.pointee.codecpar.pointee.codec_id == CodecID.aac, ist.pointee.codecpar.pointee.extradata_size == 0,
              fillIfMissing(ost.pointee.codecpar) else { return nil }
        return try BitstreamFilter("aac_adtstoasc", parameters: ost.pointee.codecpar, timeBase: ost.pointee.time_base)
    }
}
