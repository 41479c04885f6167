import Foundation

/// The process's share of the CPU (`--threads N`): at most `permits` of its compute stages run
/// at once — SR windows, the classical passes and tile classification, colour conversion,
/// decoding and encoding — so N threads use about N cores however the stages are split, and
/// jobs run side by side with `--threads 1` each do not crowd each other. Waiting (for frames,
/// for room in a queue) never holds a permit, and a thread that holds one runs nested stages on
/// it, so no stage can deadlock on the budget. Without a budget (`--threads 0`: all cores) a
/// stage runs at once.
///
///     CoreBudget.shared.configure(permits: 1)
///     let out = try CoreBudget.shared.run { try scaler.scale(frame, into: big) }
public final class CoreBudget: @unchecked Sendable {
    public static let shared = CoreBudget()

    private let lock = NSCondition()
    private var permits: Int? = nil
    private var busy = 0
    private static let holding = ThreadLocalFlag()
    private static let waited = ThreadLocalSeconds()

    /// Seconds this thread has spent waiting for permits: stage timers subtract it, so stage
    /// times are compute, not queueing for a core.
    public static var waitedOnThisThread: Double { waited.value }

    public init(permits: Int? = nil) {
        precondition(permits.map { $0 >= 1 } ?? true, "a budget has at least one permit")
        self.permits = permits
    }

    /// nil: no budget.
    public func configure(permits: Int?) {
        precondition(permits.map { $0 >= 1 } ?? true, "a budget has at least one permit")
        lock.lock()
        self.permits = permits
        lock.broadcast()
        lock.unlock()
    }

    public var limit: Int? {
        lock.lock()
        defer { lock.unlock() }
        return permits
    }

    /// Runs `body` on a permit, waiting for one if the budget is spent.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        if CoreBudget.holding.value { return try body() }
        lock.lock()
        guard permits != nil else { lock.unlock(); return try body() }
        if let p = permits, busy >= p {
            let start = ContinuousClock.now
            while let p = permits, busy >= p { lock.wait() }
            let d = ContinuousClock.now - start
            CoreBudget.waited.value += d.seconds
        }
        busy += 1
        lock.unlock()
        CoreBudget.holding.value = true
        defer {
            CoreBudget.holding.value = false
            lock.lock()
            busy -= 1
            lock.signal()
            lock.unlock()
        }
        return try body()
    }
}

/// A stage's compute time on this thread: wall time since `init` less the time spent waiting
/// for budget permits meanwhile.
public struct StageTimer {
    private let start = ContinuousClock.now
    private let waited = CoreBudget.waitedOnThisThread

    public init() {}

    public var seconds: Double { (ContinuousClock.now - start).seconds - (CoreBudget.waitedOnThisThread - waited) }
}

/// A per-thread Bool (pthread key): whether this thread holds a budget permit.
final class ThreadLocalFlag: @unchecked Sendable {
    private var key = pthread_key_t()

    init() { pthread_key_create(&key, nil) }

    var value: Bool {
        get { pthread_getspecific(key) != nil }
        set { pthread_setspecific(key, newValue ? UnsafeRawPointer(bitPattern: 1) : nil) }
    }
}

/// A per-thread Double (pthread key, heap cell freed with the thread).
final class ThreadLocalSeconds: @unchecked Sendable {
    private var key = pthread_key_t()

    init() { pthread_key_create(&key) { $0?.assumingMemoryBound(to: Double.self).deallocate() } }

    private var cell: UnsafeMutablePointer<Double> {
        if let p = pthread_getspecific(key) { return p.assumingMemoryBound(to: Double.self) }
        let p = UnsafeMutablePointer<Double>.allocate(capacity: 1)
        p.initialize(to: 0)
        pthread_setspecific(key, p)
        return p
    }

    var value: Double {
        get { cell.pointee }
        set { cell.pointee = newValue }
    }
}
