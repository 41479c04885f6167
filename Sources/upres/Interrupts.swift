import Foundation
import Synchronization

/// Ctrl-C / SIGTERM handling: the first signal asks the running job to stop (it removes
/// its temporary output); a second one exits at once.
enum Interrupts {
    private static let count = Atomic<Int>(0)

    static var requested: Bool { count.load(ordering: .relaxed) > 0 }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            let (_, now) = Interrupts.count.add(1, ordering: .relaxed)
            if now >= 2 { _exit(130) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGPIPE, SIG_IGN)
        // A parent may start us with these signals blocked (some process launchers do): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

enum Diagnostics {
    static func error(_ message: String) { write("upres: error: \(message)") }
    static func warning(_ message: String) { write("upres: warning: \(message)") }
    static func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
