import Foundation
import Testing

/// Damaged copies of the sample (flipped bytes, truncated, zeroed ranges; fixed seed) through the
/// decode path: never a crash, never a hang, always a clear error or a warned, playable output.
@Suite("Damaged inputs (seeded fuzz)")
struct FuzzTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples/harbour-pan.mp4").path

    struct Damage: CustomTestStringConvertible, Sendable {
        let name: String
        let apply: @Sendable (inout [UInt8], inout UInt64) -> Void
        var testDescription: String { name }
    }

    static func next(_ s: inout UInt64, _ n: Int) -> Int {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Int((s >> 33) % UInt64(max(1, n)))
    }

    static let damages: [Damage] = [
        Damage(name: "200 flipped bytes") { d, s in for _ in 0..<200 { d[next(&s, d.count)] ^= UInt8(1 + next(&s, 255)) } },
        Damage(name: "flipped bytes in the header") { d, s in for _ in 0..<20 { d[next(&s, 4096)] ^= 0xff } },
        Damage(name: "truncated at a random point") { d, s in d.removeLast(d.count - (1000 + next(&s, d.count - 1000))) },
        Damage(name: "truncated to 5%") { d, _ in d.removeLast(d.count - d.count / 20) },
        Damage(name: "zeroed 64 KiB in the middle") { d, s in let a = d.count / 3 + next(&s, 1000); for i in a..<min(d.count, a + 65536) { d[i] = 0 } },
        Damage(name: "zeroed 16 random 1 KiB ranges") { d, s in
            for _ in 0..<16 { let a = next(&s, d.count - 1024); for i in a..<(a + 1024) { d[i] = 0 } }
        },
    ]

    @Test("never a crash or a hang; a clear error or a playable output", arguments: damages)
    func damaged(_ damage: Damage) throws {
        let s = try Scratch()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.sample)))
        var seed: UInt64 = 42
        damage.apply(&bytes, &seed)
        try Data(bytes).write(to: URL(fileURLWithPath: s.file("damaged.mp4")))
        let started = Date()
        let r = try Shell.run("/usr/bin/timeout", ["120", Upres.binary, s.file("damaged.mp4"), "--upscaler", "lanczos",
                                                   "--codec", "ffv1", "-o", s.file("out.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0 || r.status == 1, "\(damage.name): exit \(r.status) (crash or hang?) \(r.stderr)")
        #expect(Date().timeIntervalSince(started) < 120)
        if r.status == 0 {
            #expect(try Probe.frameCount(s.file("out.mkv")) > 0, "\(damage.name): playable output")
        } else {
            #expect(r.stderr.contains("upres: error:") && r.stderr.contains("damaged.mp4"), "\(damage.name): \(r.stderr)")
            #expect(!s.listing.contains("out.mkv"), "no output on failure")
        }
    }
}
