internal import CLibPQ
import FoundationEssentials
import GalaxyCore

/// Asks the server to cancel whatever a connection is running, from another thread (libpq's `PQcancel`, which is
/// documented as safe to call concurrently with the connection's own use).
///
/// A cancel that arrives while the connection is idle is ignored by the server; one that arrives while a statement
/// runs makes it fail with SQLSTATE `57014` (`query_canceled`).
final class QueryCanceller: @unchecked Sendable {
    private let handle: OpaquePointer
    private let lock = ConditionLock()

    init?(_ connection: OpaquePointer) {
        guard let handle = PQgetCancel(connection) else { return nil }
        self.handle = handle
    }

    deinit { PQfreeCancel(handle) }

    /// Sends the cancel request; returns whether it was delivered to the server.
    @discardableResult
    func cancel() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        var message = [CChar](repeating: 0, count: 256)
        return PQcancel(handle, &message, Int32(message.count)) == 1
    }
}

extension Connection {
    /// A canceller for this connection's current statement (nil when closed).
    func makeCanceller() -> QueryCanceller? {
        withHandle { QueryCanceller($0) }
    }
}
