import Foundation
import Testing

/// End-to-end: upscale real files and check with ffprobe everything a video person checks.
@Suite("Keeps every stream, timestamp and tag")
struct PreservationTests {
    let fx = Fixtures.shared

    @Test("MP4: frames, timestamps, size, both audio tracks bit-identical, tags and colour")
    func mp4KeepsEverything() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("cfr.mp4"))
        let r = try Upres.run([input, "--progress", "none"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let out = s.file("cfr.upres-x2.mp4")
        #expect(FileManager.default.fileExists(atPath: out))

        let srcPTS = try Probe.framePTS(input), outPTS = try Probe.framePTS(out)
        #expect(srcPTS.count == 48)
        #expect(outPTS == srcPTS)
        let v = try Probe.video(out)
        #expect(Probe.int(v["width"]) == 640 && Probe.int(v["height"]) == 360)
        #expect(v["pix_fmt"] as? String == "yuv420p")
        #expect(v["color_space"] as? String == "bt709")
        #expect(v["color_primaries"] as? String == "bt709")
        #expect(v["color_transfer"] as? String == "bt709")
        #expect(v["color_range"] as? String == "tv")
        for a in ["a:0", "a:1"] {
            #expect(try Probe.packetHashes(out, stream: a) == Probe.packetHashes(input, stream: a), "audio \(a)")
        }
        let audio = try Probe.streams(out).filter { $0["codec_type"] as? String == "audio" }
        #expect(audio.map { Probe.tags($0)["language"] } == ["eng", "fra"])
        let fmt = try Probe.format(out)
        #expect((fmt["tags"] as? [String: String])?["title"] == "Fixture clip")
        let srcDuration = Double(try Probe.format(input)["duration"] as? String ?? "") ?? 0
        let outDuration = Double(fmt["duration"] as? String ?? "") ?? -1
        #expect(abs(srcDuration - outDuration) <= 1.0 / 24)
    }

    @Test("MKV: subtitles, chapters, attachments and metadata are copied")
    func mkvKeepsSubtitlesChaptersAttachments() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("full.mkv"))
        let out = s.file("big.mkv")
        let r = try Upres.run([input, "-o", out, "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "no warnings expected: \(r.stderr)")
        let streams = try Probe.streams(out)
        #expect(streams.map { $0["codec_type"] as? String ?? "" } == ["video", "audio", "audio", "subtitle", "attachment"])
        let sub = streams[3]
        #expect(sub["codec_name"] as? String == "subrip")
        #expect(Probe.tags(sub)["language"] == "deu")
        #expect(try Probe.packetHashes(out, stream: "s:0") == Probe.packetHashes(input, stream: "s:0"))
        let att = streams[4]
        #expect(Probe.tags(att)["mimetype"] == "application/x-truetype-font")
        #expect(Probe.tags(att)["filename"] == "font.ttf")
        let chapters = try Probe.chapters(out)
        #expect(chapters.count == 2)
        #expect(chapters.compactMap { ($0["tags"] as? [String: String])?["title"] } == ["One", "Two"])
        #expect(chapters.compactMap { $0["start_time"] as? String } == ["0.000000", "1.000000"])
        #expect((try Probe.format(out)["tags"] as? [String: String])?["title"] == "Chaptered")
        #expect(try Probe.framePTS(out) == Probe.framePTS(input))
        for a in ["a:0", "a:1"] {
            #expect(try Probe.packetHashes(out, stream: a) == Probe.packetHashes(input, stream: a))
        }
    }

    @Test("Variable frame rate keeps every source timestamp and the audio")
    func vfrKeepsTimestamps() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("vfr.mkv"))
        let r = try Upres.run([input, "-o", s.file("out.mkv")], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("warning"), "\(r.stderr)")
        let src = try Probe.framePTS(input), out = try Probe.framePTS(s.file("out.mkv"))
        #expect(src.count == 53)   // 3 s of it, with gaps
        #expect(out == src)
        let gaps = Set(zip(src.dropFirst(), src).map { (($0 - $1) * 1000).rounded() })
        #expect(gaps.count >= 2, "the fixture really is VFR: \(gaps)")
        #expect(try Probe.packetHashes(s.file("out.mkv"), stream: "a:0") == Probe.packetHashes(input, stream: "a:0"))
    }

    @Test("10-bit sources stay 10-bit", arguments: ["ten420.mkv", "ten422.mkv"])
    func tenBitStaysTenBit(_ name: String) throws {
        let s = try Scratch()
        let input = try s.copy(fx.path(name))
        let r = try Upres.run([input, "-o", s.file("out.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let src = try Probe.video(input), out = try Probe.video(s.file("out.mkv"))
        #expect(out["pix_fmt"] as? String == src["pix_fmt"] as? String)
        #expect((out["pix_fmt"] as? String ?? "").hasSuffix("10le"))
        #expect(Probe.int(out["width"]) == 640)
        #expect(try Probe.frameCount(s.file("out.mkv")) == 24)
    }

    @Test("Odd sizes: exact with FFV1, cropped to even with a warning for H.264")
    func oddSizes() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("odd.mkv"))
        var r = try Upres.run([input, "--codec", "ffv1", "--scale", "3", "-o", s.file("x3.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        var v = try Probe.video(s.file("x3.mkv"))
        #expect(Probe.int(v["width"]) == 963 && Probe.int(v["height"]) == 543)
        r = try Upres.run([input, "--scale", "2", "-o", s.file("x2.mkv"), "-q"], cwd: s.path)
        v = try Probe.video(s.file("x2.mkv"))
        #expect(Probe.int(v["width"]) == 642 && Probe.int(v["height"]) == 362)
        r = try Upres.run([input, "--scale", "3", "-o", s.file("x3.mp4"), "-q"], cwd: s.path)
        #expect(r.status == 0)
        #expect(r.stderr.contains("cropping 963x543 to 962x542"))
        v = try Probe.video(s.file("x3.mp4"))
        #expect(Probe.int(v["width"]) == 962 && Probe.int(v["height"]) == 542)
        #expect(try Probe.frameCount(s.file("x3.mp4")) == 24)
    }

    @Test("Phone video keeps its rotation (display matrix)")
    func rotationKept() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("rotated.mp4"))
        let r = try Upres.run([input, "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Probe.video(s.file("rotated.upres-x2.mp4"))
        let side = v["side_data_list"] as? [[String: Any]] ?? []
        #expect(side.contains { $0["side_data_type"] as? String == "Display Matrix" && Probe.int($0["rotation"]) == 90 })
        #expect(Probe.int(v["width"]) == 640)
    }

    @Test("Anamorphic video keeps its display aspect ratio")
    func sampleAspectRatio() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("anamorphic.mkv"))
        var r = try Upres.run([input, "-o", s.file("x2.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Probe.video(s.file("x2.mkv"))["sample_aspect_ratio"] as? String == "16:11")
        #expect(try Probe.video(s.file("x2.mkv"))["display_aspect_ratio"] as? String
                == Probe.video(input)["display_aspect_ratio"] as? String)
        r = try Upres.run([input, "--width", "1000", "-o", s.file("w.mkv"), "-q"], cwd: s.path)
        let v = try Probe.video(s.file("w.mkv"))
        #expect(Probe.int(v["width"]) == 1000 && Probe.int(v["height"]) == 818)
    }

    @Test("Chroma siting is kept; field order too with --deinterlace off (else the output is progressive)")
    func fieldOrderAndChromaLocation() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("interlaced.mkv"))
        var r = try Upres.run([input, "-o", s.file("out.mkv"), "-q", "--deinterlace", "off"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let src = try Probe.video(input), out = try Probe.video(s.file("out.mkv"))
        #expect(src["chroma_location"] as? String == "topleft")
        #expect(out["chroma_location"] as? String == "topleft")
        #expect(out["field_order"] as? String == src["field_order"] as? String)
        #expect(["tt", "tb"].contains(out["field_order"] as? String ?? ""))
        r = try Upres.run([input, "-o", s.file("auto.mkv"), "-q"], cwd: s.path)
        #expect(r.status == 0, "\(r.stderr)")
        let auto = try Probe.video(s.file("auto.mkv"))
        #expect(auto["field_order"] as? String == "progressive")
        #expect(auto["chroma_location"] as? String == "topleft")
    }

    @Test("--width / --height keep the aspect ratio")
    func targetSize() throws {
        let s = try Scratch()
        let input = try s.copy(fx.path("cfr.mp4"))
        _ = try Upres.run([input, "--width", "1000", "-o", s.file("w.mp4"), "-q"], cwd: s.path)
        var v = try Probe.video(s.file("w.mp4"))
        #expect(Probe.int(v["width"]) == 1000 && Probe.int(v["height"]) == 562)
        _ = try Upres.run([input, "--height", "540", "-o", s.file("h.mp4"), "-q"], cwd: s.path)
        v = try Probe.video(s.file("h.mp4"))
        #expect(Probe.int(v["width"]) == 960 && Probe.int(v["height"]) == 540)
    }
}
