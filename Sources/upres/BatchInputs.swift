import ArgumentParser
import Foundation
import UpresKit
import UpresMedia

/// Batch inputs and outputs: folders (optionally recursive) and quoted glob patterns expand to
/// the video and image files in them; `-o` may name an output folder, with file names from a
/// `--name` template.
struct BatchOptions: ParsableArguments {
    @Flag(help: "Also take the files in sub-folders of input folders.")
    var recursive = false

    @Option(help: ArgumentHelp("Output file name template for batches: {stem}, {ext}, {scale} (e.g. '{stem}.x{scale}.{ext}'). Default: {stem}.upres-x{scale}.{ext}",
                               valueName: "template"))
    var name: String?

    @Flag(help: "List what would be done (inputs, outputs, frames, estimated time) and write nothing.")
    var dryRun = false

    func validate() throws {
        if let name {
            if name.contains("/") { throw ValidationError("--name is a file name template, without '/'") }
            if !name.contains("{stem}") { throw ValidationError("--name needs {stem}, or every input would get the same output name") }
        }
    }
}

enum BatchInputs {
    /// File extensions taken from folders (FFmpeg reads many more; name such files directly).
    static let extensions: Set<String> = ["mp4", "mkv", "mov", "m4v", "webm", "avi", "ts", "m2ts", "mts", "mpg", "mpeg",
                                          "flv", "wmv", "ogv", "3gp", "y4m", "png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"]

    /// Inputs in order: a folder becomes its media files (sorted; hidden files and upres's own
    /// work folders skipped), a pattern with * ? or [ that names no file is expanded with glob(3),
    /// anything else is kept as given (a missing file is reported by its job).
    static func expand(_ args: [String], recursive: Bool) -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for a in args {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: a, isDirectory: &isDir), isDir.boolValue {
                out += files(in: a, recursive: recursive)
            } else if !fm.fileExists(atPath: a), a.contains(where: { "*?[".contains($0) }), !OutputNaming.isSequencePattern(a) {
                var g = glob_t()
                defer { globfree(&g) }
                if glob(a, 0, nil, &g) == 0 {
                    out += (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
                } else {
                    out.append(a)
                }
            } else {
                out.append(a)
            }
        }
        return out
    }

    private static func files(in dir: String, recursive: Bool) -> [String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: dir) else { return [] }
        var out: [String] = []
        for n in names.sorted() where !n.hasPrefix(".") {
            let p = (dir as NSString).appendingPathComponent(n)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                if recursive { out += files(in: p, recursive: true) }
            } else if extensions.contains((n as NSString).pathExtension.lowercased()), !n.contains(".upres-") {
                out.append(p)
            }
        }
        return out
    }

    /// The output for `input`: `output` itself for a single file, else a file in the output
    /// folder (or beside the input) named by the template.
    static func outputPath(for input: String, output: String?, folderOutput: Bool, template: String?,
                           size: TargetSize, range: SourceRange? = nil) -> String? {
        if let output, !folderOutput { return output }
        guard template != nil || folderOutput else { return nil }   // nil: the job's default, beside the input
        let defaultName = (OutputNaming.defaultOutput(for: input, size: size, range: range) as NSString).lastPathComponent
        var name = defaultName
        if let template {
            let ext = (defaultName as NSString).pathExtension
            let stem = ((input as NSString).lastPathComponent as NSString).deletingPathExtension
            let scale: String
            if case .scale(let s) = size { scale = String(s) } else { scale = size.label }
            name = template.replacingOccurrences(of: "{stem}", with: stem).replacingOccurrences(of: "{ext}", with: ext)
                .replacingOccurrences(of: "{scale}", with: scale)
        }
        let dir = folderOutput ? output! : (input as NSString).deletingLastPathComponent
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }
}
