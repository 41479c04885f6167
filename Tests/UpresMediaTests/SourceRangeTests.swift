import Foundation
import Testing
@testable import UpresKit
@testable import UpresMedia

@Suite("Time syntax of --start/--duration/--to")
struct SourceRangeTests {
    @Test func seconds() {
        #expect(SourceRange.seconds("12.5") == 12.5)
        #expect(SourceRange.seconds("90") == 90)
        #expect(SourceRange.seconds("1:30") == 90)
        #expect(SourceRange.seconds("01:02:03.25") == 3723.25)
        #expect(SourceRange.seconds("0:00:00.040") == 0.04)
        for bad in ["", "-1", "1:60", "1:75:00", "1.5:00", "ten", "1:2:3:4", "12s", " 1", "1e3", "."] {
            #expect(SourceRange.seconds(bad) == nil, "\(bad)")
        }
    }

    @Test func ranges() throws {
        #expect(try SourceRange(start: "1", duration: "2", to: nil) == SourceRange(start: 1, end: 3))
        #expect(try SourceRange(start: nil, duration: nil, to: "1:00") == SourceRange(start: 0, end: 60))
        #expect(try SourceRange(start: "5", duration: nil, to: nil) == SourceRange(start: 5, end: nil))
        #expect(throws: RangeError.self) { try SourceRange(start: "1", duration: "1", to: "3") }
        #expect(throws: RangeError.self) { try SourceRange(start: "3", duration: nil, to: "3") }
        #expect(SourceRange(start: 1, end: 3).label == "1s-3s")
        #expect(SourceRange(start: 12.5, end: nil).label == "12.5s-end")
        #expect(OutputNaming.defaultOutput(for: "v/clip.mp4", size: .scale(2), range: SourceRange(start: 60, end: 80))
                == "v/clip.upres-x2.60s-80s.mp4")
        #expect(OutputNaming.defaultOutput(for: "clip.mp4", size: .scale(2), range: nil) == "clip.upres-x2.mp4")
    }
}
