import Foundation
import Testing

/// The tile pipeline through the real binary on the bundled photographic clip.
@Suite("Tile pipeline from the command line")
struct PipelineCLITests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/harbour-pan.mp4").path

    /// framemd5 of the decoded video frames (pixels, not packets).
    static func frameHashes(_ file: String) throws -> [String] {
        let r = try Shell.run(Shell.which("ffmpeg"), ["-nostdin", "-v", "error", "-i", file, "-map", "0:v", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw FixtureError("framemd5 \(file): \(r.stderr)") }
        return r.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test("the same frames for 1 and 2 SR workers and for any run; every frame kept")
    func threadsAreBitIdentical() throws {
        let s = try Scratch()
        var hashes: [[String]] = []
        for (i, threads) in ["1", "2", "2"].enumerated() {
            let out = s.file("t\(i).mkv")
            let r = try Upres.run([Self.sample, "--codec", "ffv1", "--threads", threads, "--tile", "64", "-o", out, "-q"],
                                  cwd: s.path, network: true)
            #expect(r.status == 0, "\(r.stderr)")
            hashes.append(try Self.frameHashes(out))
        }
        #expect(hashes[0].count == 144)
        #expect(hashes[0] == hashes[1] && hashes[1] == hashes[2])
    }

    @Test("--classes off, --no-reuse and another tile size give the same picture for a single-branch model")
    func optionsAgree() throws {
        let s = try Scratch()
        let runs = [["--tile", "96"], ["--classes", "off", "--no-reuse", "--tile", "48"]]
        var hashes: [[String]] = []
        for (i, extra) in runs.enumerated() {
            let out = s.file("o\(i).mkv")
            let r = try Upres.run([Self.sample, "--codec", "ffv1", "-o", out, "-q", "--precision", "fp32"] + extra,
                                  cwd: s.path, network: true)
            #expect(r.status == 0, "\(r.stderr)")
            hashes.append(try Self.frameHashes(out))
        }
        // Exact tiling and exact reuse: tile size, reuse and the class switch change no pixel
        // of a model without routing (fp32: the same kernels whatever the tile size).
        #expect(hashes[0].count == 144 && hashes[0] == hashes[1])
    }

    @Test("bad tile options are usage errors naming the flag", arguments: [["--tile", "4"], ["--reuse-threshold", "-1"],
                                                                           ["--frames-in-flight", "0"], ["--classes", "maybe"]])
    func badOptions(_ args: [String]) throws {
        let s = try Scratch()
        let r = try Upres.run([Self.sample, "-o", s.file("x.mkv")] + args, cwd: s.path, network: true)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(args[0]) || r.stderr.contains(args[1]), "\(r.stderr)")
        #expect(s.listing.isEmpty)
    }
}
