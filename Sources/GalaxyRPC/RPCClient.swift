import GalaxyCore
import NIOCore
import NIOPosix
import Synchronization

/// Why a call did not get an answer from the server (as opposed to an error answer, thrown as `JSONRPCError`).
public struct RPCClientError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// A JSON-RPC 2.0 client for the control socket, as `galaxyctl` uses it.
///
/// Each call opens a connection, sends one request line, reads one answer line and closes: the CLI makes a handful
/// of calls, and a fresh connection per call keeps no state that can go stale (the daemon may restart between two
/// polls of `status`).
public struct RPCClient: Sendable {
    public var socketPath: String
    /// How long a call may take, connection included.
    public var timeout: Duration
    /// Longest answer line accepted.
    public var maxResponseBytes: Int
    private let eventLoopGroup: any EventLoopGroup
    private static let nextID = Atomic<Int64>(1)

    public init(
        socketPath: String, timeout: Duration = .seconds(30), maxResponseBytes: Int = 64 << 20,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.socketPath = socketPath
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.eventLoopGroup = eventLoopGroup
    }

    /// Calls `method` and returns its result.
    ///
    /// - Throws: `JSONRPCError` when the server answers with an error (permission denied, invalid params, …);
    ///   `RPCClientError` when there is no usable answer (cannot connect, timeout, connection closed).
    public func call(method: String, params: JSONValue? = nil) async throws -> JSONValue {
        let id = JSONRPCID.integer(Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        let request = JSONRPCRequest(id: id, method: method, params: params)
        let line = try await exchange(request.jsonValue.jsonText)
        guard let line else { throw RPCClientError("the server closed the connection without answering \(method)") }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            throw RPCClientError("the server's answer to \(method) is not JSON")
        }
        guard let response = JSONRPCResponse(value) else {
            throw RPCClientError("the server's answer to \(method) is not a JSON-RPC 2.0 response")
        }
        switch response.outcome {
        case .result(let result): return result
        case .encodedResult(let result): return try JSONValue(parsing: result.text.utf8)
        case .error(let error): throw error
        }
    }

    /// Calls `method` with typed params and decodes the typed result.
    public func call<Params: Encodable, Result: Decodable>(
        method: String, params: Params, as resultType: Result.Type = Result.self
    ) async throws -> Result {
        let result = try await call(method: method, params: try JSONValue(encoding: params))
        do {
            return try result.decode(as: Result.self)
        } catch {
            throw RPCClientError("the server's result for \(method) has an unexpected shape: \(error)")
        }
    }

    /// Sends a notification (no answer is expected or read).
    public func notify(method: String, params: JSONValue? = nil) async throws {
        _ = try await exchange(JSONRPCRequest(id: nil, method: method, params: params).jsonValue.jsonText,
                               expectAnswer: false)
    }

    /// Sends one raw line and returns the first line of the answer (nil if the server closed without one).
    /// For tests and debugging; `call` is the API.
    public func exchange(_ line: String, expectAnswer: Bool = true) async throws -> String? {
        let path = socketPath
        let maxBytes = maxResponseBytes
        let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            connection = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(.seconds(5))
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(
                                NIOSplitLinesMessageDecoder(omittingEmptySubsequences: true),
                                maximumBufferSize: maxBytes))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw RPCClientError(
                "cannot connect to \(path): \(error) (is galaxyd running, and may you use its socket?)")
        }
        let timeout = self.timeout
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await connection.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(string: line + "\n"))
                    guard expectAnswer else { return nil }
                    for try await answer in inbound {
                        return String(buffer: answer)
                    }
                    return nil
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                connection.channel.close(promise: nil)
                throw RPCClientError("no answer from \(path) within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
