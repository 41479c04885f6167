import ArgumentParser
import Foundation

/// Exit codes (documented in man/upres.1).
enum ExitStatus {
    static let success: Int32 = 0
    static let failed: Int32 = 1
    static let usage: Int32 = 2
    static let interrupted: Int32 = 130
}

@main
struct Main {
    static func main() {
        do {
            var command = try Upres.parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            // Help and --version are "errors" that exit 0; usage errors exit 2.
            let code = Upres.exitCode(for: error)
            if code == .success {
                print(Upres.fullMessage(for: error))
                Foundation.exit(ExitStatus.success)
            }
            let message = Upres.fullMessage(for: error)
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(code == .validationFailure ? ExitStatus.usage : ExitStatus.failed)
        }
    }
}

struct Upres: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upres",
        abstract: "Upscale videos and images on the CPU, keeping every stream, timestamp and colour tag.",
        discussion: """
            upres decodes a video with FFmpeg's libraries, upscales every frame, re-encodes it and \
            copies audio, subtitles, attachments, chapters and metadata unchanged (converting audio \
            and text subtitles the output container cannot hold). The output is \
            written to a temporary file and renamed into place only when complete.

            Exit status: 0 all done, 1 some input failed, 2 usage error, 130 interrupted.
            """,
        version: UpresVersion.string,
        subcommands: [Upscale.self, Models.self, Bench.self, Join.self, Compare.self, Preview.self, Calibrate.self],
        defaultSubcommand: Upscale.self
    )
}

enum UpresVersion {
    static let string = VersionInfo.describe(release: "0.1.0")
}
