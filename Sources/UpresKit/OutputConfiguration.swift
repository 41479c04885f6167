import Foundation
import UpresMedia

extension UpscaleJob {
    /// Adds the output's streams in source order (the upscaled video, set up from `video`, then
    /// copies of every stream the container takes; a segment holds the video only), the
    /// container metadata and chapters, and writes the header.
    func configureOutput(_ out: OutputFile, target: String, segment: Bool,
                         video: VideoStreamParameters) throws -> OutputStreams {
        var streamMap = [Int](repeating: -1, count: input.streamCount)
        var copied = 0
        var conversions: [Int: StreamConversion] = [:]
        for i in 0..<input.streamCount {
            if i == videoStream {
                try mediaCall(target) {
                    streamMap[i] = try OutputStreamSetup.addVideo(to: out, from: input, stream: i, rate: decodePlan.rate,
                                                                  sampleAspectRatio: encodeFormat.sampleAspectRatio,
                                                                  hasAlpha: WorkingFormat.hasAlpha(encodeFormat.pixelFormat),
                                                                  parameters: video)
                }
                continue
            }
            if out.isImageMuxer || segment { continue }   // image files and segments hold the picture only
            var conversion: StreamConversion? = nil
            switch OutputStreamSetup.plan(input, stream: i, into: out) {
            case .skip(let warning):
                warnings.append(warning)
                continue
            case .copy: break
            case .convert(let c): conversion = c
            }
            try mediaCall(target) { streamMap[i] = try OutputStreamSetup.addCopy(to: out, from: input, stream: i, conversion: conversion) }
            if let conversion {
                conversions[i] = conversion
                warnings.append(conversion.summary)
            }
            copied += 1
        }
        if !out.isImageMuxer && !segment {
            try mediaCall(target) {
                try OutputStreamSetup.copyContainerData(from: input, to: out, window: decodePlan.copyWindow, target: target)
            }
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
}
