import Foundation
import CFFmpeg
import CMediaShims

/// What the upscaled video stream of an output is set up from: the encoder of a one-pass run, or
/// the parameters its segments' encoders stored (a join).
public enum VideoStreamParameters {
    case encoder(VideoEncoder)
    case segments(SegmentVideoParameters)

    /// Sets an output stream's codec parameters and time base.
    func configure(_ stream: UnsafeMutablePointer<AVStream>) throws {
        switch self {
        case .encoder(let e): try e.configure(stream)
        case .segments(let p): try p.configure(stream)
        }
    }
}

/// The video stream parameters stored in a segment file (`StreamParameters`).
public struct SegmentVideoParameters {
    public let parameters: Data
    public let timeBase: Rational

    public init(_ parameters: Data) throws {
        self.parameters = parameters
        timeBase = try StreamParameters.timeBase(parameters)
    }

    func configure(_ stream: UnsafeMutablePointer<AVStream>) throws {
        try StreamParameters.decode(parameters, into: stream.pointee.codecpar)
        stream.pointee.codecpar.pointee.codec_tag = 0
        stream.pointee.time_base = timeBase
    }
}

/// The output's streams made from the input's: the upscaled video stream (its encoder's
/// parameters, the source's rates, aspect, disposition, tags and presentation side data), and
/// for every other stream a copy, a conversion to what the container holds, or a reason to skip
/// it; then the container's metadata and chapters.
public enum OutputStreamSetup {
    /// Adds the upscaled video stream of source stream `index`; returns its output index.
    /// - Parameters:
    ///   - rate: a source frame rate as the output has it (`DecodePlan.rate`).
    ///   - parameters: the stream's codec parameters (the encoder's, or its segments').
    public static func addVideo(to out: OutputFile, from input: InputFile, stream index: Int, rate: (Rational) -> Rational,
                                sampleAspectRatio: Rational, hasAlpha: Bool, parameters: VideoStreamParameters) throws -> Int {
        let ist = input.stream(index)
        let ost = out.addStream()
        try parameters.configure(ost)
        OutputContainer.setFrameTimeBase(ost, format: out.formatName, frameRate: rate(input.guessedFrameRate(stream: index)))
        ost.pointee.avg_frame_rate = rate(ist.pointee.avg_frame_rate)
        ost.pointee.r_frame_rate = rate(ist.pointee.r_frame_rate)
        ost.pointee.sample_aspect_ratio = sampleAspectRatio
        ost.pointee.disposition = ist.pointee.disposition
        StreamTags.copy(from: ist, to: ost, dropEncodingStatistics: true)
        // Matroska's AlphaMode follows the tag: set it exactly when the output carries alpha.
        av_dict_set(&ost.pointee.metadata, "alpha_mode", hasAlpha ? "1" : nil, 0)
        _ = upres_copy_presentation_side_data(ost, ist)
        return Int(ost.pointee.index)
    }

    /// What becomes of a stream other than the upscaled video.
    public enum Plan {
        /// Left out, with the warning that says why.
        case skip(String)
        case copy
        /// Re-encoded to what the container holds (audio, text subtitles).
        case convert(StreamConversion)
    }

    /// The plan for source stream `index` (not the upscaled video) in `out`.
    public static func plan(_ input: InputFile, stream index: Int, into out: OutputFile) -> Plan {
        let ist = input.stream(index)
        let par = ist.pointee.codecpar!
        let type = par.pointee.codec_type
        let codecName = MediaNames.codec(par.pointee.codec_id)
        let typeName = av_get_media_type_string(type).map { String(cString: $0) } ?? "data"
        if par.pointee.codec_id == AV_CODEC_ID_NONE && type != AVMEDIA_TYPE_ATTACHMENT {
            return .skip("skipped \(typeName) stream #\(index): unknown codec")
        }
        if type == AVMEDIA_TYPE_VIDEO && !input.isAttachedPicture(index) {
            return .skip("skipped extra video stream #\(index) (\(codecName)): upres upscales one video stream")
        }
        if OutputContainer.holdsVideoOnly(out.formatName) {
            return .skip("skipped \(typeName) stream #\(index) (\(codecName)): the \(out.formatName) container holds the video only")
        }
        let holds = type == AVMEDIA_TYPE_ATTACHMENT
            ? ContainerTraits.holdsAttachments(out.formatName)   // muxers answer queries for codecs, not fonts
            : StreamConversion.holds(ist, in: out)
        if holds { return .copy }
        switch StreamConversion.plan(ist, index: index, into: out) {
        case .success(let c): return .convert(c)
        case .failure(let skip):
            return .skip("skipped \(typeName) stream #\(index) (\(codecName)): \(skip.reason); use .mkv to keep it")
        }
    }

    /// Adds source stream `index` to `out` as copied or converted (`conversion`); returns its
    /// output index.
    public static func addCopy(to out: OutputFile, from input: InputFile, stream index: Int,
                               conversion: StreamConversion?) throws -> Int {
        let ist = input.stream(index)
        let ost = out.addStream()
        if let conversion {
            try conversion.configure(ost)
        } else {
            try avCheck(avcodec_parameters_copy(ost.pointee.codecpar, ist.pointee.codecpar), "avcodec_parameters_copy", "stream #\(index)")
            ost.pointee.codecpar.pointee.codec_tag = 0
            ost.pointee.time_base = ist.pointee.time_base
        }
        ost.pointee.disposition = ist.pointee.disposition
        ost.pointee.avg_frame_rate = ist.pointee.avg_frame_rate
        ost.pointee.r_frame_rate = ist.pointee.r_frame_rate
        ost.pointee.sample_aspect_ratio = ist.pointee.sample_aspect_ratio
        StreamTags.copy(from: ist, to: ost, dropEncodingStatistics: conversion != nil)
        _ = upres_copy_presentation_side_data(ost, ist)
        return Int(ost.pointee.index)
    }

    /// The container's metadata (less the encoder tag the muxer writes itself) and chapters,
    /// clipped to `window` (a source range).
    public static func copyContainerData(from input: InputFile, to out: OutputFile, window: CopyWindow, target: String) throws {
        av_dict_copy(&out.context.pointee.metadata, input.context.pointee.metadata, 0)
        av_dict_set(&out.context.pointee.metadata, "encoder", nil, 0)
        try avCheck(upres_copy_chapters(out.context, input.context), "copying chapters", "'\(target)'")
        window.clipChapters(out.context)
    }
}
