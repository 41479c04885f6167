import CFFmpeg
import UpresMedia

/// The output file's streams as `UpscaleJob.configureOutput` set them up: where each input
/// stream goes, and how the packets of the streams that are not the upscaled video get there
/// (a stream copy, rescaled to the output time base, with broken timestamps repaired as the
/// ffmpeg CLI does: `PacketTimestampRepair`).
///
/// Used on the demuxing thread only (one pass, or the segmented job's final mux).
final class OutputStreams {
    /// Input stream index -> output stream index (-1: not in the output).
    let map: [Int]
    /// Streams copied (or converted) besides the video.
    let copied: Int
    private let out: OutputFile
    private var repair: PacketTimestampRepair

    init(out: OutputFile, map: [Int], copied: Int) {
        self.out = out
        self.map = map
        self.copied = copied
        repair = PacketTimestampRepair(format: out.format)
    }

    /// Whether packets of input stream `index` go to the output.
    func carries(_ index: Int) -> Bool { index >= 0 && index < map.count && map[index] >= 0 }

    /// Sends a packet of input stream `packet.streamIndex` (read from `input`, whose time bases
    /// apply) to its output stream through `write` (the shared muxer). Packets of streams the
    /// output does not carry, and packets without any timestamp, are dropped.
    func write(_ packet: Packet, from input: InputFile, via write: (Packet) throws -> Void) throws {
        let index = Int(packet.streamIndex)
        guard carries(index) else { return }
        let ost = out.stream(map[index])
        packet.rescaleTimestamps(from: input.stream(index).pointee.time_base, to: ost.pointee.time_base)
        packet.streamIndex = Int32(map[index])
        packet.pointer.pointee.pos = -1
        guard repair.fix(packet) else { return }
        try write(packet)
    }

    /// What was repaired or dropped, for the job's warnings.
    var warnings: [String] { [repair.warning].compactMap { $0 } }
}
