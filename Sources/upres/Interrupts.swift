import CTerminalShims
import Foundation
import Synchronization
import UpresKit

/// Stop requests from Ctrl-C, SIGTERM and the dashboard's keys. The first asks the running
/// job to stop gracefully (it finishes the frames in flight); the second to stop at once
/// (the job abandons its output), with 2 s to do so before the process exits anyway; a
/// third exits at once. Every path out gives the terminal back first.
///
/// The signal handler cannot call into the job (not async-signal safe), so it writes a byte to
/// a pipe; a forwarding thread blocks reading that pipe and passes each request on to
/// `control`, which wakes a paused job. (A DispatchSource signal source is not used: on Linux
/// it blocks the signal only on the thread that registers it and reads a signalfd, so a signal
/// that the kernel delivers to any other thread would be lost.)
enum Interrupts {
    private static let count = Atomic<Int>(0)
    /// [read end, write end] of the self-pipe; set up before any handler is installed.
    private static let wakeup: (read: Int32, write: Int32) = {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("upres: cannot create the interrupt pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)   // a handler never blocks
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return (fds[0], fds[1])
    }()
    /// Requests that came as signals, which only the forwarding thread passes on.
    private static let signals = Atomic<Int>(0)
    private static let installed = Atomic<Bool>(false)

    static var requested: Bool { count.load(ordering: .relaxed) > 0 }
    static var stopNowRequested: Bool { count.load(ordering: .relaxed) > 1 }
    /// What the running job checks; signals reach it through the forwarding thread, the
    /// dashboard's keys directly.
    static let control = JobControl()

    /// A stop request from a normal thread (the dashboard's q and Ctrl-C keys).
    static func request() {
        let n = count.add(1, ordering: .relaxed).newValue
        control.requestStop()
        escalate(n)
    }

    /// Async-signal-safe: atomics, write, alarm, the C terminal guard, _exit.
    private static func escalate(_ n: Int) {
        if n == 2 { alarm(2) }
        if n >= 3 {
            upres_terminal_guard_restore()
            _exit(130)
        }
    }

    /// Async-signal-safe: one byte to the pipe (a full pipe already holds a wake-up). Keeps
    /// errno, which the interrupted code may be about to read.
    private static func notify() {
        let saved = errno
        var byte: UInt8 = 1
        _ = write(wakeup.write, &byte, 1)
        errno = saved
    }

    static func install() {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let fds = wakeup   // created here, on a normal thread, never first in a handler
        let handler: @convention(c) (Int32) -> Void = { _ in
            let n = Interrupts.count.add(1, ordering: .relaxed).newValue
            Interrupts.signals.add(1, ordering: .relaxed)
            Interrupts.notify()
            Interrupts.escalate(n)
        }
        let deadline: @convention(c) (Int32) -> Void = { _ in
            upres_terminal_guard_restore()
            _exit(130)
        }
        let forwarder = Thread {
            var forwarded = 0
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let got = read(fds.read, &buffer, buffer.count)   // blocks until a request
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { return }
                let n = signals.load(ordering: .relaxed)
                while forwarded < n { control.requestStop(); forwarded += 1 }
            }
        }
        forwarder.name = "upres-interrupts"
        forwarder.start()
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
