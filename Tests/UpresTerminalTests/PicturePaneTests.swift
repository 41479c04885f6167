import Testing
import UpresProgress
import UpresTerminal

/// The picture pane's text: half blocks with the right colours in the right cells.
@Suite("Picture pane")
struct PicturePaneTests {
    /// 4 x 4 pixels: red, green, blue, white in columns; the bottom two rows darker.
    static var picture: FrameThumbnail {
        var rgb: [UInt8] = []
        for y in 0..<4 {
            for x in 0..<4 {
                let c: [UInt8] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]][x]
                rgb += c.map { y < 2 ? $0 : $0 / 2 }
            }
        }
        return FrameThumbnail(width: 4, height: 4, rgb: rgb, frameNumber: 7)
    }

    @Test("truecolor half blocks: top pixel in the foreground, bottom in the background, centred")
    func truecolor() {
        let rows = PicturePane.render(Self.picture, columns: 8, rows: 4, colours: .truecolor)
        #expect(rows.count == 4)
        #expect(rows[0] == String(repeating: " ", count: 8), "the picture (2 rows) is centred vertically")
        let first = rows[1]
        #expect(first.hasPrefix("\u{1B}[0m  "), "two columns of margin on the left")
        #expect(first.contains("\u{1B}[38;2;255;0;0m\u{1B}[48;2;255;0;0m\u{2580}"))
        #expect(rows[2].contains("\u{1B}[38;2;127;0;0m\u{1B}[48;2;127;0;0m\u{2580}"))
        #expect(first.filter { $0 == "\u{2580}" }.count == 4)
        #expect(rows[3] == String(repeating: " ", count: 8))
    }

    @Test("the 256-colour palette: the cube and the grey ramp")
    func palette() {
        #expect(PicturePane.palette256(255, 0, 0) == 196)
        #expect(PicturePane.palette256(0, 0, 0) == 16)
        #expect(PicturePane.palette256(128, 128, 128) == 244)
        #expect(PicturePane.palette256(255, 255, 255) == 231)
        let rows = PicturePane.render(Self.picture, columns: 4, rows: 2, colours: .palette256)
        #expect(rows[0].contains("\u{1B}[38;5;196m") && !rows[0].contains(";2;"))
    }

    @Test("the class map tints each tile with its class's colour")
    func overlay() {
        let map = PicturePane.ClassOverlay(classes: [.hard, .easy], columns: 2, rows: 1)
        let rows = PicturePane.render(Self.picture, columns: 4, rows: 2, colours: .truecolor, overlay: map)
        let (hr, hg, hb) = PicturePane.colour(of: .hard), (er, eg, eb) = PicturePane.colour(of: .easy)
        // Red mixed with the hard colour on the left half; blue with the easy colour on the right.
        #expect(rows[0].contains("38;2;\((255 + Int(hr)) / 2);\(Int(hg) / 2);\(Int(hb) / 2)m"))
        #expect(rows[0].contains("38;2;\(Int(er) / 2);\(Int(eg) / 2);\((255 + Int(eb)) / 2)m"))
    }

    @Test("a pane smaller than the picture shows its top-left part; no cell beyond the pane")
    func crop() {
        let rows = PicturePane.render(Self.picture, columns: 2, rows: 1, colours: .truecolor)
        #expect(rows.count == 1 && rows[0].filter { $0 == "\u{2580}" }.count == 2)
        #expect(PicturePane.pixelSize(columns: 60, rows: 20) == (60, 40))
    }
}
