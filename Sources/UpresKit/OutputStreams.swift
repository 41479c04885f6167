import UpresMedia

/// The output file's streams as `UpscaleJob.configureOutput` set them up: where each input
/// stream goes, and how the packets of the streams that are not the upscaled video get there:
/// a stream copy, rescaled to the output time base, with broken timestamps repaired as the
/// ffmpeg CLI does (`PacketTimestampRepair`) and, for AAC with ADTS headers (from MPEG-TS),
/// the headers stripped and the stream's AudioSpecificConfig stated (`AACStreamConfig`), which
/// MP4 and Matroska need in their header when writing into a pipe; or a conversion, for
/// streams the container cannot hold as they are (`StreamConversion`).
///
/// Made before the header is written; used on the demuxing thread only (one pass, or the
/// segmented job's final mux).
final class OutputStreams {
    /// Input stream index -> output stream index (-1: not in the output).
    let map: [Int]
    /// Streams copied (or converted) besides the video.
    let copied: Int
    private let out: OutputFile
    private var repair: PacketTimestampRepair
    /// By input stream index.
    private var filters: [Int: BitstreamFilter] = [:]
    private let conversions: [Int: StreamConversion]

    init(out: OutputFile, input: InputFile, map: [Int], copied: Int, conversions: [Int: StreamConversion],
         target: String) throws {
        self.out = out
        self.map = map
        self.copied = copied
        self.conversions = conversions
        repair = PacketTimestampRepair(output: out)
        // Into a file the muxers take the configuration from the first packet and rewrite their
        // header at the end (stating it first would make Matroska's rewrite overrun the header).
        guard StandardStream.isPipe(target), ["mp4", "mov", "ipod", "3gp", "matroska", "webm"].contains(out.formatName) else { return }
        for i in 0..<min(map.count, input.streamCount) where map[i] >= 0 && conversions[i] == nil {
            do {
                filters[i] = try AACStreamConfig.adtsFilter(from: input, stream: i, to: out, outputStream: map[i])
            } catch {
                throw JobError(file: target, message: "audio stream #\(i): \(error)", cause: error)
            }
        }
    }

    /// Whether packets of input stream `index` go to the output.
    func carries(_ index: Int) -> Bool { index >= 0 && index < map.count && map[index] >= 0 }

    /// Sends a packet of input stream `packet.streamIndex` (read from `input`, whose time bases
    /// apply) to its output stream through `write` (the shared muxer). Packets of streams the
    /// output does not carry, and packets without any timestamp, are dropped.
    func write(_ packet: Packet, from input: InputFile, via write: (Packet) throws -> Void) throws {
        let index = Int(packet.streamIndex)
        guard carries(index) else { return }
        let outTimeBase = out.timeBase(stream: map[index])
        if let conversion = conversions[index] {
            try conversion.send(packet) { converted in
                converted.rescaleTimestamps(from: conversion.timeBase, to: outTimeBase)
                try send(converted, to: map[index], via: write)
            }
            return
        }
        packet.rescaleTimestamps(from: input.timeBase(stream: index), to: outTimeBase)
        packet.clearPosition()
        if let filter = filters[index] {
            try filter.filter(packet) { try send($0, to: map[index], via: write) }
        } else {
            try send(packet, to: map[index], via: write)
        }
    }

    private func send(_ packet: Packet, to output: Int, via write: (Packet) throws -> Void) throws {
        packet.streamIndex = Int32(output)
        guard repair.fix(packet) else { return }
        try write(packet)
    }

    /// At the end of the input: what the conversions still hold.
    func finish(via write: (Packet) throws -> Void) throws {
        for (index, conversion) in conversions.sorted(by: { $0.key < $1.key }) {
            let outTimeBase = out.timeBase(stream: map[index])
            try conversion.finish { converted in
                converted.rescaleTimestamps(from: conversion.timeBase, to: outTimeBase)
                try send(converted, to: map[index], via: write)
            }
        }
    }

    /// What was repaired, dropped or skipped, for the job's warnings.
    var warnings: [String] {
        var w = [repair.warning].compactMap { $0 } + conversions.sorted(by: { $0.key < $1.key }).flatMap(\.value.warnings)
        let rejected = filters.values.map(\.rejected).reduce(0, +)
        if rejected > 0 { w.append("copied AAC audio: \(rejected) damaged packets dropped (bad ADTS headers)") }
        return w
    }
}
