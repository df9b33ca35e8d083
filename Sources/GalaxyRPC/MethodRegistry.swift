import GalaxyCore
import Logging

/// What a handler knows about the call it serves.
public struct RPCRequestContext: Sendable {
    /// The peer's kernel-reported credentials; nil only if the socket could not report them (then the peer is
    /// treated as unauthorised for mutation).
    public var peer: PeerCredentials?
    /// Whether the peer may call mutating methods (checked by the server before a mutating handler runs; exposed so
    /// a non-mutating handler can show more to an admin).
    public var isAuthorisedForMutation: Bool
    /// The request's id; nil for a notification.
    public var requestID: JSONRPCID?
    /// A logger carrying the connection's metadata (peer pid/uid, connection number).
    public var logger: Logger

    public init(peer: PeerCredentials?, isAuthorisedForMutation: Bool, requestID: JSONRPCID?, logger: Logger) {
        self.peer = peer
        self.isAuthorisedForMutation = isAuthorisedForMutation
        self.requestID = requestID
        self.logger = logger
    }
}

/// A method's result: a value, or JSON text already written (see ``EncodedJSON``).
public enum RPCResult: Sendable {
    case value(JSONValue)
    case encoded(EncodedJSON)
}

/// One method of the API.
public struct RPCMethod: Sendable {
    public typealias Handler = @Sendable (RPCRequestContext, JSONValue?) async throws -> RPCResult

    public var name: String
    /// Mutating methods (start, cancel work) need an authorised peer; the server checks before calling `handler`.
    public var isMutating: Bool
    public var handler: Handler

    public init(name: String, isMutating: Bool, handler: @escaping Handler) {
        self.name = name
        self.isMutating = isMutating
        self.handler = handler
    }
}

/// The methods a server answers, by name.
///
/// Handlers run in a task of their own (never on an event loop); they throw `JSONRPCError` to answer with a specific
/// code, and anything else becomes -32603 "Internal error". Long work must not be awaited in a handler: start it and
/// return its `{runId}`.
public struct MethodRegistry: Sendable {
    public private(set) var methods: [String: RPCMethod] = [:]

    public init() {}

    public init(_ methods: [RPCMethod]) {
        for method in methods { register(method) }
    }

    public mutating func register(_ method: RPCMethod) {
        precondition(methods[method.name] == nil, "method \(method.name) registered twice")
        methods[method.name] = method
    }

    /// Registers an untyped handler.
    public mutating func register(
        _ name: String, mutating isMutating: Bool,
        handler: @escaping @Sendable (RPCRequestContext, JSONValue?) async throws -> JSONValue
    ) {
        register(RPCMethod(name: name, isMutating: isMutating) { context, params in
            .value(try await handler(context, params))
        })
    }

    /// Registers a handler whose result is already JSON text: for results that many callers share, written once.
    public mutating func registerEncoded(
        _ name: String, mutating isMutating: Bool,
        handler: @escaping @Sendable (RPCRequestContext, JSONValue?) async throws -> EncodedJSON
    ) {
        register(RPCMethod(name: name, isMutating: isMutating) { context, params in
            .encoded(try await handler(context, params))
        })
    }

    /// Registers a handler with typed params and result: params are decoded by name (errors name the field, -32602),
    /// the result is encoded to JSON.
    public mutating func register<Params: RPCParams, Result: Encodable & Sendable>(
        _ name: String, mutating isMutating: Bool, params: Params.Type,
        handler: @escaping @Sendable (RPCRequestContext, Params) async throws -> Result
    ) {
        register(name, mutating: isMutating) { context, rawParams in
            let params = try Params.decode(from: rawParams)
            let result = try await handler(context, params)
            return try JSONValue(encoding: result)
        }
    }

    public subscript(name: String) -> RPCMethod? { methods[name] }

    public var names: [String] { methods.keys.sorted() }
}
