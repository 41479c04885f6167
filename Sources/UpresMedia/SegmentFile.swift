import Foundation
import CFFmpeg

/// Where the encode stage puts its packets: the output file's muxer, or a segment file.
public protocol PacketSink: AnyObject {
    func write(_ packet: Packet) throws
    var bytesWritten: Int64 { get }
}

extension OutputFile: PacketSink {}

/// The video stream parameters a segment's encoder produced (what the join's output stream
/// needs), stored in the segment file: the join then needs no encoder of its own.
public enum StreamParameters {
    static func encode(_ p: UnsafePointer<AVCodecParameters>, timeBase: AVRational) -> Data {
        let c = p.pointee
        let values: [Int64] = [Int64(c.codec_type.rawValue), Int64(c.codec_id.rawValue), Int64(c.codec_tag), Int64(c.format),
                               c.bit_rate, Int64(c.bits_per_coded_sample), Int64(c.bits_per_raw_sample), Int64(c.profile),
                               Int64(c.level), Int64(c.width), Int64(c.height), Int64(c.sample_aspect_ratio.num),
                               Int64(c.sample_aspect_ratio.den), Int64(c.field_order.rawValue), Int64(c.color_range.rawValue),
                               Int64(c.color_primaries.rawValue), Int64(c.color_trc.rawValue), Int64(c.color_space.rawValue),
                               Int64(c.chroma_location.rawValue), Int64(c.video_delay), Int64(c.extradata_size),
                               Int64(timeBase.num), Int64(timeBase.den)]
        var d = Data()
        for v in values { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        if c.extradata_size > 0 { d.append(c.extradata, count: Int(c.extradata_size)) }
        return d
    }

    static let count = 23

    /// Fills `p`; returns the packets' time base.
    @discardableResult
    static func decode(_ d: Data, into p: UnsafeMutablePointer<AVCodecParameters>) throws -> AVRational {
        guard d.count >= count * 8 else { throw MediaInputError("segment stream parameters are truncated") }
        let v = (0..<count).map { i in d.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) } }
        let extra = Int(v[20])
        guard extra >= 0, d.count == count * 8 + extra else { throw MediaInputError("segment stream parameters are damaged") }
        p.pointee.codec_type = AVMediaType(rawValue: Int32(v[0]))
        p.pointee.codec_id = AVCodecID(rawValue: UInt32(v[1]))
        p.pointee.codec_tag = UInt32(v[2])
        p.pointee.format = Int32(v[3])
        p.pointee.bit_rate = v[4]
        p.pointee.bits_per_coded_sample = Int32(v[5])
        p.pointee.bits_per_raw_sample = Int32(v[6])
        p.pointee.profile = Int32(v[7])
        p.pointee.level = Int32(v[8])
        p.pointee.width = Int32(v[9])
        p.pointee.height = Int32(v[10])
        p.pointee.sample_aspect_ratio = AVRational(num: Int32(v[11]), den: Int32(v[12]))
        p.pointee.field_order = AVFieldOrder(rawValue: UInt32(v[13]))
        p.pointee.color_range = AVColorRange(rawValue: UInt32(v[14]))
        p.pointee.color_primaries = AVColorPrimaries(rawValue: UInt32(v[15]))
        p.pointee.color_trc = AVColorTransferCharacteristic(rawValue: UInt32(v[16]))
        p.pointee.color_space = AVColorSpace(rawValue: UInt32(v[17]))
        p.pointee.chroma_location = AVChromaLocation(rawValue: UInt32(v[18]))
        p.pointee.video_delay = Int32(v[19])
        av_freep(&p.pointee.extradata)
        p.pointee.extradata_size = 0
        if extra > 0 {
            guard let buf = av_mallocz(extra + Int(AV_INPUT_BUFFER_PADDING_SIZE)) else { throw MediaInputError("out of memory") }
            let bytes = buf.assumingMemoryBound(to: UInt8.self)
            d.withUnsafeBytes { bytes.update(from: $0.baseAddress!.advanced(by: count * 8).assumingMemoryBound(to: UInt8.self), count: extra) }
            p.pointee.extradata = bytes
            p.pointee.extradata_size = Int32(extra)
        }
        return AVRational(num: Int32(v[21]), den: Int32(v[22]))
    }

    /// The packets' time base alone.
    public static func timeBase(_ d: Data) throws -> AVRational {
        guard d.count >= count * 8 else { throw MediaInputError("segment stream parameters are truncated") }
        let v = { (i: Int) in d.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) } }
        return AVRational(num: Int32(v(21)), den: Int32(v(22)))
    }
}

/// A segment of encoded video: the encoder's stream parameters, then its packets exactly as it
/// produced them (timestamps in the encoder's time base, flags, payload), with no container in
/// between, so the join writes the same stream a one-pass run would have written. Format:
/// "UPRESSEG3\n", parameters size (Int32 LE) and bytes (`StreamParameters`), then per packet:
/// pts, dts, duration (Int64 LE), flags, size (Int32 LE), payload, then the packet's side data
/// (VP9 alpha travels there): count (Int32 LE), and per entry type and size (Int32 LE), bytes.
public final class SegmentFileWriter: PacketSink {
    static let magic = Array("UPRESSEG3\n".utf8)
    private let handle: FileHandle
    private let path: String
    private var written: Int64 = 0

    /// A segment of what `encoder` produces (its stream parameters and time base).
    public convenience init(path: String, encoder: VideoEncoder) throws {
        let par = avcodec_parameters_alloc()!
        defer { var p: UnsafeMutablePointer<AVCodecParameters>? = par; avcodec_parameters_free(&p) }
        try avCheck(avcodec_parameters_from_context(par, encoder.context), "avcodec_parameters_from_context", "video stream")
        try self.init(path: path, parameters: par, timeBase: encoder.timeBase)
    }

    init(path: String, parameters: UnsafePointer<AVCodecParameters>, timeBase: AVRational) throws {
        self.path = path
        let params = StreamParameters.encode(parameters, timeBase: timeBase)
        var head = Data(SegmentFileWriter.magic)
        withUnsafeBytes(of: Int32(params.count).littleEndian) { head.append(contentsOf: $0) }
        head.append(params)
        guard FileManager.default.createFile(atPath: path, contents: head),
              let h = FileHandle(forWritingAtPath: path) else {
            throw JobError(file: path, action: "cannot create a segment file", systemError: errno)
        }
        handle = h
        try handle.seekToEnd()
        written = Int64(head.count)
    }

    public func write(_ packet: Packet) throws {
        let p = packet.pointer.pointee
        var header = Data(capacity: 32)
        for v in [p.pts, p.dts, p.duration] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        for v in [p.flags, p.size] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        var side = Data()
        withUnsafeBytes(of: p.side_data_elems.littleEndian) { side.append(contentsOf: $0) }
        for i in 0..<Int(p.side_data_elems) {
            let e = p.side_data[i]
            for v in [Int32(e.type.rawValue), Int32(e.size)] { withUnsafeBytes(of: v.littleEndian) { side.append(contentsOf: $0) } }
            if e.size > 0 { side.append(e.data, count: Int(e.size)) }
        }
        try header.withUnsafeBytes { try writeAll($0) }
        if p.size > 0 { try writeAll(UnsafeRawBufferPointer(start: p.data, count: Int(p.size))) }
        try side.withUnsafeBytes { try writeAll($0) }
        written += Int64(header.count) + Int64(p.size) + Int64(side.count)
    }

    /// write(2) itself, so a failure says what the system said (No space left on device...).
    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(handle.fileDescriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw JobError(file: path, action: "cannot write a segment", systemError: n < 0 ? errno : EIO)
            }
            done += n
        }
    }

    public var bytesWritten: Int64 { written }

    /// Flushes to disk (a renamed segment is complete even after a power loss) and closes.
    public func finish() throws {
        let synced = fsync(handle.fileDescriptor) == 0 ? 0 : errno
        try? handle.close()
        if synced != 0 { throw JobError(file: path, action: "cannot finish a segment", systemError: synced) }
    }
}

/// Reads a segment file's packets back, in order.
public final class SegmentFileReader {
    private let data: Data
    private var offset: Int
    let path: String
    /// The stream parameters stored at the start (`StreamParameters`).
    public let parameters: Data

    public init(path: String) throws {
        self.path = path
        let m = SegmentFileWriter.magic.count
        guard let d = FileManager.default.contents(atPath: path), d.starts(with: SegmentFileWriter.magic), d.count >= m + 4 else {
            throw JobError(file: path, message: "not a complete upres segment; rerun with --restart")
        }
        let n = Int(d.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: m, as: Int32.self)) })
        guard n >= 0, d.count >= m + 4 + n else { throw JobError(file: path, message: "truncated segment; rerun with --restart") }
        data = d
        parameters = d.subdata(in: (m + 4)..<(m + 4 + n))
        offset = m + 4 + n
    }

    /// Fills `packet` with the next one; false at the end.
    public func read(into packet: Packet) throws -> Bool {
        packet.unref()
        guard offset < data.count else { return false }
        guard offset + 32 <= data.count else { throw JobError(file: path, message: "truncated segment; rerun with --restart") }
        func i64(_ at: Int) -> Int64 { data.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int64.self)) } }
        func i32(_ at: Int) -> Int32 { data.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int32.self)) } }
        let pts = i64(offset), dts = i64(offset + 8), duration = i64(offset + 16)
        let flags = i32(offset + 24), size = Int(i32(offset + 28))
        offset += 32
        guard size >= 0, offset + size <= data.count else { throw JobError(file: path, message: "truncated segment; rerun with --restart") }
        try avCheck(av_new_packet(packet.pointer, Int32(size)), "av_new_packet", "reading a segment")
        if size > 0 {
            data.withUnsafeBytes { packet.pointer.pointee.data.update(from: $0.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), count: size) }
        }
        offset += size
        func truncated() -> JobError { JobError(file: path, message: "truncated segment; rerun with --restart") }
        guard offset + 4 <= data.count else { throw truncated() }
        let sideCount = Int(i32(offset))
        offset += 4
        guard sideCount >= 0, sideCount <= 64 else { throw JobError(file: path, message: "damaged segment; rerun with --restart") }
        for _ in 0..<sideCount {
            guard offset + 8 <= data.count else { throw truncated() }
            let type = i32(offset), n = Int(i32(offset + 4))
            offset += 8
            guard type >= 0, n >= 0, offset + n <= data.count else { throw truncated() }
            guard let dst = av_packet_new_side_data(packet.pointer, AVPacketSideDataType(rawValue: UInt32(type)), n) else {
                throw JobError(file: path, message: "cannot restore packet side data of a segment")
            }
            if n > 0 {
                data.withUnsafeBytes { dst.update(from: $0.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), count: n) }
            }
            offset += n
        }
        packet.pointer.pointee.pts = pts
        packet.pointer.pointee.dts = dts
        packet.pointer.pointee.duration = duration
        packet.pointer.pointee.flags = flags
        return true
    }
}

extension SegmentFileReader {
    /// Writes one segment file holding the packets of `parts` (segment files from the same encoder
    /// settings, in order) with the first part's stream parameters, as `join` reads several files;
    /// copied in chunks, flushed to disk.
    public static func concatenate(_ parts: [URL], into path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw JobError(file: path, action: "cannot create a segment file", systemError: errno)
        }
        defer { try? out.close() }
        let m = SegmentFileWriter.magic.count
        do {
            for (i, part) in parts.enumerated() {
                guard let h = FileHandle(forReadingAtPath: part.path) else {
                    throw JobError(file: part.path, message: "cannot read a finished part; rerun with --restart")
                }
                defer { try? h.close() }
                let head = try h.read(upToCount: m + 4) ?? Data()
                guard head.count == m + 4, head.starts(with: SegmentFileWriter.magic) else {
                    throw JobError(file: part.path, message: "not a complete upres segment; rerun with --restart")
                }
                let n = Int(head.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: m, as: Int32.self)) })
                let params = try h.read(upToCount: max(0, n)) ?? Data()
                guard n >= 0, params.count == n else { throw JobError(file: part.path, message: "truncated segment; rerun with --restart") }
                if i == 0 {
                    try out.write(contentsOf: head)
                    try out.write(contentsOf: params)
                }
                while let chunk = try h.read(upToCount: 4 << 20), !chunk.isEmpty {
                    try out.write(contentsOf: chunk)
                }
            }
            try out.synchronize()
        } catch let e as JobError {
            throw e
        } catch {
            throw JobError(file: path, message: "cannot write a segment: \(error.localizedDescription)")
        }
    }
}
