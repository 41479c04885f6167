import Foundation
import UpresMedia

/// What `Comparison.run` measured for one distorted input.
public struct ComparisonReport: Sendable {
    public var distorted: String
    public var reference: String
    /// The size and pixel format both were measured in.
    public var measured: VideoFormat
    public var frames: [FrameQuality]
    public var summary: QualitySummary
    /// Distorted frames that had no reference frame to pair with (before its first or after
    /// its last frame).
    public var unpaired: Int
    public var notes: [String]
}

/// Full-reference quality of a video or image against its reference: both files' main video
/// streams are decoded, the distorted frames converted to the reference's pixel format (and,
/// when asked, scaled to its size with Lanczos), and both streams measured by libavfilter's
/// psnr and ssim (`QualityMeter`). Frames are paired by time from each stream's start: each
/// distorted frame with the reference frame nearest in time.
public enum Comparison {
    public struct Settings: Sendable {
        /// Scale distorted frames of another size to the reference's with Lanczos (the classical
        /// baseline); without it a size mismatch is an error.
        public var scaleToReference = false
        public var threads: Int32 = 0
        public init(scaleToReference: Bool = false, threads: Int32 = 0) {
            self.scaleToReference = scaleToReference
            self.threads = threads
        }
    }

    /// Measures `distorted` against `reference`, calling `onFrame` with each frame's figures as
    /// they come. Errors name the file they are about.
    public static func run(distorted: String, reference: String, settings: Settings = Settings(),
                           onFrame: (FrameQuality) -> Void = { _ in }) throws -> ComparisonReport {
        let d = try FrameSource(path: distorted, threads: settings.threads)
        let r = try FrameSource(path: reference, threads: settings.threads)
        let measured = FrameConverter.measuredFormat(reference: r.format)
        try checkSize(distorted, d.format.width, d.format.height, reference, r.format, settings.scaleToReference)
        let toMeasured = FrameConverter(stream: d.format, target: measured)
        let refToMeasured = FrameConverter(stream: r.format, target: measured)
        let meter: QualityMeter
        do {
            meter = try QualityMeter(format: measured, distortedTimeBase: d.timeBase, referenceTimeBase: r.timeBase,
                                     threads: settings.threads)
        } catch { throw JobError(file: reference, message: "cannot measure \(PixelFormat.name(measured.pixelFormat)): \(error)", cause: error) }

        // The reference shifted earlier by half a frame: the filters pair each distorted frame
        // with the last reference frame at or before it, which is then the nearest one.
        let half = r.nominalDuration / 2
        var frames: [FrameQuality] = []
        var unpaired = 0, pushedDistorted = 0
        func collect() throws {
            for q in try meter.drain() {
                frames.append(q)
                onFrame(q)
            }
        }
        func decode(_ s: FrameSource) throws -> Frame? {
            do { return try s.next() } catch { throw JobError(file: s.path, message: "\(error)", cause: error) }
        }
        var nextD = try decode(d), nextR = try decode(r)
        if nextD == nil { throw JobError(file: distorted, message: "no video frame could be decoded") }
        if nextR == nil { throw JobError(file: reference, message: "no video frame could be decoded") }
        var referenceEnd: Double? = nil   // seconds: past the last reference frame
        var lastReferenceTime = 0.0
        while let df = nextD {
            let dt = d.seconds(df)
            if let rf = nextR, r.seconds(rf) - Double(half) * r.timeBase.doubleValue <= dt {
                lastReferenceTime = r.seconds(rf)
                let m = refToMeasured.matches(rf) ? rf : try convert(rf, refToMeasured, reference)
                m.pts = rf.pts - r.start - half
                do { try meter.pushReference(m) } catch { throw JobError(file: reference, message: "\(error)", cause: error) }
                nextR = try decode(r)
                if nextR == nil { referenceEnd = lastReferenceTime + Double(r.nominalDuration - half) * r.timeBase.doubleValue }
            } else {
                if let end = referenceEnd, dt >= end {
                    unpaired += 1
                } else {
                    if !settings.scaleToReference && (df.width != measured.width || df.height != measured.height) {
                        throw JobError(file: distorted, message: "frame at \(String(format: "%.3f", dt)) s is "
                                       + "\(df.width)x\(df.height), the reference is \(measured.width)x\(measured.height) "
                                       + "(--scale-to-reference scales it)")
                    }
                    let m = toMeasured.matches(df) ? df : try convert(df, toMeasured, distorted)
                    m.pts = df.pts - d.start
                    do { try meter.pushDistorted(m, time: dt) } catch { throw JobError(file: distorted, message: "\(error)", cause: error) }
                    pushedDistorted += 1
                }
                nextD = try decode(d)
            }
            try collect()
        }
        do { try meter.finish() } catch { throw JobError(file: distorted, message: "\(error)", cause: error) }
        try collect()
        unpaired += pushedDistorted - frames.count
        if frames.isEmpty {
            throw JobError(file: distorted, message: "no frames in common with \(reference): no frame of it falls in the "
                           + "reference's time span (frames are paired by time from each stream's start)")
        }
        var notes: [String] = []
        if unpaired > 0 {
            notes.append("\(unpaired) frames of \(distorted) have no reference frame at their time and are not compared")
        }
        for s in [d, r] where s.damaged > 0 || s.readError != nil {
            notes.append("\(s.path): damaged input, \(s.damaged) undecodable packets"
                         + (s.readError.map { ", read error: \(MediaError.text(for: $0))" } ?? ""))
        }
        return ComparisonReport(distorted: distorted, reference: reference, measured: measured, frames: frames,
                                summary: QualitySummary(frames, peak: meter.peak), unpaired: unpaired, notes: notes)
    }

    /// One frame against one reference frame (a still, or a frame a caller decoded), both in
    /// any format: the distorted one is converted to the reference's measured format, scaled
    /// with Lanczos when `scaleToReference`, else sizes must match.
    public static func measure(_ frame: Frame, format: VideoFormat, named name: String,
                               against reference: Frame, referenceFormat: VideoFormat, referenceName: String,
                               scaleToReference: Bool = false) throws -> FrameQuality {
        var refStream = referenceFormat
        refStream.width = reference.width
        refStream.height = reference.height
        let measured = FrameConverter.measuredFormat(reference: refStream)
        try checkSize(name, frame.width, frame.height, referenceName, refStream, scaleToReference)
        let one = Rational(1, 1)
        let meter = try QualityMeter(format: measured, distortedTimeBase: one, referenceTimeBase: one, threads: 1)
        let r = try convert(reference, FrameConverter(stream: refStream, target: measured), referenceName)
        let d = try convert(frame, FrameConverter(stream: format, target: measured), name)
        r.pts = 0
        d.pts = 0
        try meter.pushReference(r)
        try meter.pushDistorted(d, time: 0)
        try meter.finish()
        guard let q = try meter.drain().first else {
            throw JobError(file: name, message: "internal: the psnr and ssim filters gave no figures")
        }
        return q
    }

    private static func checkSize(_ distorted: String, _ w: Int32, _ h: Int32, _ reference: String,
                                  _ ref: VideoFormat, _ scale: Bool) throws {
        if !scale && (w != ref.width || h != ref.height) {
            throw JobError(file: distorted, message: "is \(w)x\(h) but the reference \(reference) is "
                           + "\(ref.width)x\(ref.height); compare frames of one size, or give --scale-to-reference "
                           + "to scale it to \(ref.width)x\(ref.height) with Lanczos")
        }
    }

    private static func convert(_ f: Frame, _ c: FrameConverter, _ file: String) throws -> Frame {
        do { return try c.convert(f) } catch { throw JobError(file: file, message: "cannot convert a frame: \(error)", cause: error) }
    }
}
