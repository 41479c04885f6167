import Foundation
import UpresMedia

/// File-name rules: default output names, containers, temporary files.
public enum OutputNaming {
    /// `clip.mkv` -> `clip.upres-x2.mkv` beside the input; `frames/%05d.png` ->
    /// `frames/%05d.upres-x2.png`. Inputs whose extension no muxer knows get `.mkv`.
    public static func defaultOutput(for input: String, size: TargetSize) -> String {
        let path = input as NSString
        let ext = path.pathExtension
        let stem = (path.lastPathComponent as NSString).deletingPathExtension
        let known = !ext.isEmpty && OutputFile.hasMuxer(for: "x.\(ext)")
        let name = "\(stem).upres-\(size.label).\(known ? ext : "mkv")"
        let dir = path.deletingLastPathComponent
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }

    /// True when the path is an image-sequence pattern such as `frames/%05d.png`.
    public static func isSequencePattern(_ path: String) -> Bool {
        ImageSequence.isPattern(path)
    }

    /// The file name of frame `number` of a sequence pattern.
    public static func sequenceFile(_ pattern: String, number: Int32) -> String? {
        ImageSequence.file(pattern, number: number)
    }

    /// The encoder upscaling to this container uses when `--codec` is not given.
    public static func defaultEncoder(for muxerName: String, fileExtension ext: String) -> String? {
        EncoderChoice.usual(for: muxerName, fileExtension: ext)
    }
}

extension OutputNaming {
    /// `NAME.upres-x2.EXT`, or for a range `NAME.upres-x2.1s-3s.EXT`: a trial of a few seconds
    /// never takes the name of the whole file's output (which a later run would skip as done).
    public static func defaultOutput(for input: String, size: TargetSize, range: SourceRange?) -> String {
        let whole = defaultOutput(for: input, size: size)
        guard let range else { return whole }
        let path = whole as NSString
        return path.deletingPathExtension + ".\(range.label)." + path.pathExtension
    }
}
