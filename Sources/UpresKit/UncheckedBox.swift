/// Carries a value the compiler cannot prove Sendable into another thread whose use of it the
/// caller serialises (the progress callback runs on the encode thread only).
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
