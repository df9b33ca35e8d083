import Foundation
import GalaxyKRX
import GalaxyPostgres

/// GalaxyKRX's `BreakerStore` over PostgreSQL's `source_breakers`, so a breaker opened by one collector process keeps
/// every later process — on any host sharing the database — away from the source until it expires.
///
/// It owns a connection of its own: the KRX client consults the breaker before every request, from the collector's
/// thread, while the day's writes use the collector's main connection; a libpq connection is never shared, and the
/// mutex makes the (rare) concurrent call from another thread safe.
public final class PostgresBreakerStore: CircuitBreakerStore, @unchecked Sendable {
    private let database: Connection
    private let lock = NSLock()

    /// Takes ownership of `connection`; use it from no one else.
    public init(connection: Connection) {
        self.database = connection
    }

    public func load(source: String) throws -> BreakerState? {
        try locked { connection in
            try GalaxyPostgres.BreakerStore(connection).breaker(for: source).map(Self.state)
        }
    }

    public func open(source: String, until: Date, reason: String) throws {
        try locked { connection in
            _ = try GalaxyPostgres.BreakerStore(connection).open(source, until: until, reason: reason)
        }
    }

    public func clear(source: String) throws {
        try locked { connection in
            _ = try GalaxyPostgres.BreakerStore(connection).close(source)
        }
    }

    /// Closes the connection.
    public func close() {
        locked { $0.close() }
    }

    private func locked<T>(_ body: (Connection) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(database)
    }

    private static func state(_ breaker: SourceBreaker) -> BreakerState {
        BreakerState(
            source: breaker.source, openedAt: breaker.openedAt, openUntil: breaker.openUntil, reason: breaker.reason)
    }
}
