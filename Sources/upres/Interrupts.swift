import CUpresShims
import Foundation
import Synchronization
import UpresKit

/// Stop requests from Ctrl-C, SIGTERM and the dashboard's keys. The first asks the running
/// job to stop gracefully (it finishes the frames in flight); the second to stop at once
/// (the job abandons its output), with 2 s to do so before the process exits anyway; a
/// third exits at once. Every path out gives the terminal back first.
enum Interrupts {
    private static let count = Atomic<Int>(0)

    static var requested: Bool { count.load(ordering: .relaxed) > 0 }
    static var stopNowRequested: Bool { count.load(ordering: .relaxed) > 1 }
    /// What the running job polls; the signal handler cannot call into it (not async-signal
    /// safe), so a watcher thread forwards the count.
    static let control = JobControl()

    /// A stop request from a normal thread (the dashboard's q and Ctrl-C keys).
    static func request() { escalate(count.add(1, ordering: .relaxed).newValue) }

    /// Async-signal-safe: atomics, alarm, the C terminal guard, _exit.
    private static func escalate(_ n: Int) {
        if n == 2 { alarm(2) }
        if n >= 3 {
            upres_terminal_guard_restore()
            _exit(130)
        }
    }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            Interrupts.escalate(Interrupts.count.add(1, ordering: .relaxed).newValue)
        }
        let deadline: @convention(c) (Int32) -> Void = { _ in
            upres_terminal_guard_restore()
            _exit(130)
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
        signal(SIGALRM, deadline)
        signal(SIGPIPE, SIG_IGN)
        // A parent may start us with these signals blocked (some process launchers do): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGALRM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

enum Diagnostics {
    static func error(_ message: String) { write("upres: error: \(message)") }
    static func warning(_ message: String) { write("upres: warning: \(message)") }
    static func write(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
