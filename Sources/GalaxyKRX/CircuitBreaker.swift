import Foundation
import GalaxyCore

/// A source's breaker as stored: open until `openUntil` because of `reason`.
public struct BreakerState: Sendable, Equatable, Codable {
    /// The source's name (`portal`, `openapi`).
    public var source: String
    public var openedAt: Date
    public var openUntil: Date
    /// What tripped it, e.g. `block page (에러페이지) with HTTP 403 from MDCSTAT01501`.
    public var reason: String

    public init(source: String, openedAt: Date, openUntil: Date, reason: String) {
        self.source = source
        self.openedAt = openedAt
        self.openUntil = openUntil
        self.reason = reason
    }

    public func isOpen(at now: Date) -> Bool { now < openUntil }
}

/// Where breaker states live so that every collector process — and galaxyd's `status` — sees the same one.
///
/// GalaxyKRX does not know PostgreSQL: the collectors module implements this over the database, tests and one-off
/// runs use `InMemoryBreakerStore` or `FileBreakerStore`. Implementations must be safe to call from any thread.
public protocol CircuitBreakerStore: Sendable {
    /// The last state stored for `source`, open or expired; nil if it never tripped (or was cleared).
    func load(source: String) throws -> BreakerState?
    /// Records that `source` is blocked until `until`. A later `until` wins over an earlier one.
    func open(source: String, until: Date, reason: String) throws
    /// Forgets the state (an operator who knows the block is lifted).
    func clear(source: String) throws
}

/// A breaker store for one process (tests, benchmarks).
public final class InMemoryBreakerStore: CircuitBreakerStore, @unchecked Sendable {
    private let states = LockedValue<[String: BreakerState]>([:])

    public init() {}

    public func load(source: String) throws -> BreakerState? { states.withLock { $0[source] } }

    public func open(source: String, until: Date, reason: String) throws {
        states.withLock { states in
            if let existing = states[source], existing.openUntil >= until { return }
            states[source] = BreakerState(source: source, openedAt: Date(), openUntil: until, reason: reason)
        }
    }

    public func clear(source: String) throws { states.withLock { $0[source] = nil } }
}

/// A breaker store in a JSON file, for running `galaxy-collector` by hand without a database (and as the
/// cross-process reference in tests). Writes go through a temporary file and `rename`, so a reader never sees half.
public final class FileBreakerStore: CircuitBreakerStore, @unchecked Sendable {
    public let path: String
    private let lock = NSLock()

    public init(path: String) { self.path = path }

    public func load(source: String) throws -> BreakerState? {
        lock.lock()
        defer { lock.unlock() }
        return try readAll()[source]
    }

    public func open(source: String, until: Date, reason: String) throws {
        lock.lock()
        defer { lock.unlock() }
        var states = try readAll()
        if let existing = states[source], existing.openUntil >= until { return }
        states[source] = BreakerState(source: source, openedAt: Date(), openUntil: until, reason: reason)
        try writeAll(states)
    }

    public func clear(source: String) throws {
        lock.lock()
        defer { lock.unlock() }
        var states = try readAll()
        states[source] = nil
        try writeAll(states)
    }

    private func readAll() throws -> [String: BreakerState] {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return [:] }
        do {
            return try JSONDecoder().decode([String: BreakerState].self, from: data)
        } catch {
            throw KRXError.unexpectedResponse(reason: "breaker file \(path) is not valid JSON: \(error)")
        }
    }

    private func writeAll(_ states: [String: BreakerState]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(states)
        let temporary = path + ".tmp.\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw KRXError.transport("cannot write the breaker file \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            throw KRXError.transport("cannot replace the breaker file \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// The circuit breaker of one source: consulted before every request, tripped by a block page.
///
/// KRX's block pages say that retrying extends the block; the only safe reaction is to stop every request to that
/// source, in every process, for a day. The state therefore lives in a `CircuitBreakerStore`, and a process that tripped
/// it also remembers it locally so it never sends another request even if the store becomes unreachable.
public final class CircuitBreaker: Sendable {
    public let source: SourceKind
    public let store: any CircuitBreakerStore
    /// How long a block page keeps the source closed.
    public let openDuration: TimeInterval
    private let local = LockedValue<BreakerState?>(nil)

    public static let defaultOpenDuration: TimeInterval = 24 * 3600

    public init(source: SourceKind, store: any CircuitBreakerStore, openDuration: TimeInterval = defaultOpenDuration) {
        self.source = source
        self.store = store
        self.openDuration = openDuration
    }

    /// Throws `KRXError.blocked` while the breaker is open; otherwise returns.
    public func check(now: Date = Date()) throws {
        if let state = local.withLock({ $0 }), state.isOpen(at: now) {
            throw KRXError.blocked(until: state.openUntil, reason: state.reason)
        }
        if let state = try store.load(source: source.rawValue), state.isOpen(at: now) {
            local.withLock { $0 = state }
            throw KRXError.blocked(until: state.openUntil, reason: state.reason)
        }
    }

    /// Opens the breaker for `openDuration` and returns the error to report. Persisting is best effort on top of
    /// the local state: if the store fails, this process still stops, and the store's error is part of the reason.
    @discardableResult
    public func trip(reason: String, now: Date = Date()) -> KRXError {
        let until = now.addingTimeInterval(openDuration)
        var recorded = reason
        do {
            try store.open(source: source.rawValue, until: until, reason: reason)
        } catch {
            recorded += " (could not persist the breaker: \(error))"
        }
        let state = BreakerState(source: source.rawValue, openedAt: now, openUntil: until, reason: recorded)
        local.withLock { $0 = state }
        return .blocked(until: until, reason: recorded)
    }

    /// The current state for `status`: nil when closed.
    public func state(now: Date = Date()) throws -> BreakerState? {
        if let state = local.withLock({ $0 }), state.isOpen(at: now) { return state }
        guard let state = try store.load(source: source.rawValue), state.isOpen(at: now) else { return nil }
        return state
    }
}
