import Foundation
import Testing

/// What a command-line tool is expected to have: a version that says what it runs on,
/// completions for the usual shells, help without repeated defaults.
@Suite("Conventions: version, completions, help")
struct ConventionsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test("--version names the release, FFmpeg's libraries, oneDNN and the CPU ISA in use")
    func version() throws {
        let r = try Shell.run(Upres.binary, ["--version"])
        #expect(r.status == 0)
        for expected in ["upres 0.", "FFmpeg ", "libavcodec 59.", "oneDNN 2.", "CPU ISA "] {
            #expect(r.stdout.contains(expected), "'\(expected)' missing in: \(r.stdout)")
        }
    }

    @Test("make install-completions writes bash, zsh and fish completions that know the subcommands and options")
    func completions() throws {
        let s = try Scratch()
        let r = try Shell.run(Shell.which("make"), ["--no-print-directory", "-C", Self.root, "install-completions",
                                                    "DESTDIR=\(s.path)", "PREFIX=/usr", "UPRES_INSTALL_BIN=\(Upres.binary)"])
        #expect(r.status == 0, "\(r.stderr)")
        let files = ["usr/share/bash-completion/completions/upres", "usr/share/zsh/site-functions/_upres",
                     "usr/share/fish/vendor_completions.d/upres.fish"]
        for f in files {
            let text = (try? String(contentsOfFile: s.file(f), encoding: .utf8)) ?? ""
            for word in ["models", "bench", "join", "mac-cost", "codec"] {
                #expect(text.contains(word), "\(f) lacks \(word) (\(text.count) bytes)")
            }
        }
        let syntax = try Shell.run(Shell.which("bash"), ["-n", s.file(files[0])])
        #expect(syntax.status == 0, "bash completion parses: \(syntax.stderr)")
    }

    @Test("help prints each default once")
    func helpDefaults() throws {
        let r = try Shell.run(Upres.binary, ["help", "upscale"])
        #expect(r.status == 0)
        let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.range(of: #"\(default: [^)]*\) \(default: "#, options: .regularExpression) == nil, "\(text)")
        #expect(text.contains("(default: 1.0)") && text.contains("Default: routed families cut a 128 px grid"))
    }
}
