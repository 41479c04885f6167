import Foundation
import Synchronization
import UpresKit

/// Ctrl-C / SIGTERM handling: the first signal asks the running job to stop (it removes
/// its temporary output); a second one exits at once.
enum Interrupts {
    private static let count = Atomic<Int>(0)

    static var requested: Bool { count.load(ordering: .relaxed) > 0 }
    /// What the running job polls; the signal handler cannot call into it (not async-signal
    /// safe), so a watcher thread forwards the count.
    static let control = JobControl()

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            let (_, now) = Interrupts.count.add(1, ordering: .relaxed)
            if now >= 2 { _exit(130) }
        }
        Thread {
            var forwarded = 0
            while true {
                let n = count.load(ordering: .relaxed)
                while forwarded < n { control.requestStop(); forwarded += 1 }
                usleep(20_000)
            }
        }.start()
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
