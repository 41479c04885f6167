import Foundation
import CFFmpeg
import CMediaShims
import UpresMedia

extension UpscaleJob {
    /// Adds the output's streams in source order (the upscaled video, set up by `setVideo`, then
    /// copies of every stream the container takes; a segment holds the video only), the
    /// container metadata and chapters, and writes the header.
    func configureOutput(_ out: OutputFile, target: String, segment: Bool,
                         setVideo: (UnsafeMutablePointer<AVStream>) throws -> Void) throws -> OutputStreams {
        var streamMap = [Int](repeating: -1, count: input.streamCount)
        var copied = 0
        var conversions: [Int: StreamConversion] = [:]
        for i in 0..<input.streamCount {
            let ist = input.stream(i)
            if i == videoStream {
                let ost = out.addStream()
                streamMap[i] = Int(ost.pointee.index)
                try mediaCall(target) { try setVideo(ost) }
                OutputContainer.setFrameTimeBase(ost, format: out.formatName,
                                                 frameRate: decodePlan.rate(av_guess_frame_rate(input.context, ist, nil)))
                ost.pointee.avg_frame_rate = decodePlan.rate(ist.pointee.avg_frame_rate)
                ost.pointee.r_frame_rate = decodePlan.rate(ist.pointee.r_frame_rate)
                ost.pointee.sample_aspect_ratio = encodeFormat.sampleAspectRatio
                ost.pointee.disposition = ist.pointee.disposition
                StreamTags.copy(from: ist, to: ost, dropEncodingStatistics: true)
                // Matroska's AlphaMode follows the tag: set it exactly when the output carries alpha.
                av_dict_set(&ost.pointee.metadata, "alpha_mode", WorkingFormat.hasAlpha(encodeFormat.pixelFormat) ? "1" : nil, 0)
                _ = upres_copy_presentation_side_data(ost, ist)
                continue
            }
            if out.isImageMuxer || segment { continue }   // image files and segments hold the picture only
            let par = ist.pointee.codecpar!
            let type = par.pointee.codec_type
            let codecName = MediaNames.codec(par.pointee.codec_id)
            let typeName = av_get_media_type_string(type).map { String(cString: $0) } ?? "data"
            if par.pointee.codec_id == AV_CODEC_ID_NONE && type != AVMEDIA_TYPE_ATTACHMENT {
                warnings.append("skipped \(typeName) stream #\(i): unknown codec")
                continue
            }
            if type == AVMEDIA_TYPE_VIDEO && !input.isAttachedPicture(i) {
                warnings.append("skipped extra video stream #\(i) (\(codecName)): upres upscales one video stream")
                continue
            }
            if OutputContainer.holdsVideoOnly(out.formatName) {
                warnings.append("skipped \(typeName) stream #\(i) (\(codecName)): the \(out.formatName) container holds the video only")
                continue
            }
            let holds = type == AVMEDIA_TYPE_ATTACHMENT
                ? ContainerTraits.holdsAttachments(out.formatName)   // muxers answer queries for codecs, not fonts
                : StreamConversion.holds(ist, in: out)
            // What the container cannot hold is converted to what it does (audio, text subtitles).
            var conversion: StreamConversion? = nil
            if !holds {
                switch StreamConversion.plan(ist, index: i, into: out) {
                case .success(let c): conversion = c
                case .failure(let skip):
                    warnings.append("skipped \(typeName) stream #\(i) (\(codecName)): \(skip.reason); use .mkv to keep it")
                    continue
                }
            }
            let ost = out.addStream()
            if let conversion {
                try mediaCall(target) { try conversion.configure(ost) }
                conversions[i] = conversion
                warnings.append(conversion.summary)
            } else {
                try mediaCall(target) {
                    try avCheck(avcodec_parameters_copy(ost.pointee.codecpar, par), "avcodec_parameters_copy", "stream #\(i)")
                }
                ost.pointee.codecpar.pointee.codec_tag = 0
                ost.pointee.time_base = ist.pointee.time_base
            }
            ost.pointee.disposition = ist.pointee.disposition
            ost.pointee.avg_frame_rate = ist.pointee.avg_frame_rate
            ost.pointee.r_frame_rate = ist.pointee.r_frame_rate
            ost.pointee.sample_aspect_ratio = ist.pointee.sample_aspect_ratio
            StreamTags.copy(from: ist, to: ost, dropEncodingStatistics: conversion != nil)
            _ = upres_copy_presentation_side_data(ost, ist)
            streamMap[i] = Int(ost.pointee.index)
            copied += 1
        }
        if !out.isImageMuxer && !segment {
            av_dict_copy(&out.context.pointee.metadata, input.context.pointee.metadata, 0)
            av_dict_set(&out.context.pointee.metadata, "encoder", nil, 0)
            try mediaCall(target) {
                try avCheck(upres_copy_chapters(out.context, input.context), "copying chapters", "'\(target)'")
            }
            decodePlan.copyWindow.clipChapters(out.context)
        }
        let streams = try OutputStreams(out: out, input: input, map: streamMap, copied: copied, conversions: conversions,
                                        target: target)
        let muxOptions = OutputContainer.muxOptions(format: out.formatName, target: target, segment: segment,
                                                    imageMuxer: out.isImageMuxer)
        do { try out.writeHeader(options: muxOptions) } catch let e as OutputCreateError {
            throw JobError(file: target, message: "cannot write in \(OutputGuard.folder(of: target)): \(e.cause.message)", cause: e.cause)
        } catch { throw wrap(error, target) }

        return streams
    }

    /// Whether the output container wants codec headers out of band (MP4, MKV...).
    var needsGlobalHeader: Bool { (muxer.pointee.flags & AVFMT_GLOBALHEADER) != 0 }
}
