import GalaxyCore

/// A JSON-RPC 2.0 request id: a string, a number, or null.
///
/// `null` is a real id (the request is answered with `"id":null`), unlike an absent id, which makes the request a
/// notification; `JSONRPCRequest.id` is therefore `JSONRPCID?`, with nil meaning "notification".
public enum JSONRPCID: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case double(Double)
    case null

    /// The id carried by `value`, or nil when `value` cannot be an id (object, array, boolean).
    public init?(_ value: JSONValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .integer(let i): self = .integer(i)
        case .double(let d): self = .double(d)
        case .null: self = .null
        case .bool, .array, .object: return nil
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .integer(let i): return .integer(i)
        case .double(let d): return .double(d)
        case .null: return .null
        }
    }

    public var description: String { jsonValue.jsonText }
}

/// A JSON-RPC 2.0 error object, and the error type handlers throw to answer with a specific code.
///
/// Any other error thrown by a handler is answered as -32603 "Internal error" (its text is logged, not sent, so
/// internals and secrets do not leak to clients).
public struct JSONRPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "JSON-RPC error \(code): \(message)" }

    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["code": .integer(Int64(code)), "message": .string(message)]
        if let data { members["data"] = data }
        return .object(members)
    }

    /// Reads an error object received from a server.
    public init?(_ value: JSONValue) {
        guard case .object(let members) = value, let code = members["code"]?.integerValue,
            let message = members["message"]?.stringValue
        else { return nil }
        self.init(code: Int(code), message: message, data: members["data"])
    }
}

extension JSONRPCError {
    /// The codes of the JSON-RPC 2.0 specification and the server errors galaxy defines in -32000…-32099.
    ///
    /// | code | meaning |
    /// |---|---|
    /// | -32700 | Parse error: the line is not valid JSON (UTF-8) |
    /// | -32600 | Invalid Request: not a request object, empty batch, batch too large |
    /// | -32601 | Method not found |
    /// | -32602 | Invalid params: the message names the field (`params.date: expected YYYY-MM-DD`) |
    /// | -32603 | Internal error |
    /// | -32000 | Too many connections (sent once, then the connection is closed) |
    /// | -32001 | Request too large: a line longer than the limit (sent once, then the connection is closed) |
    /// | -32002 | Shutting down: the daemon is stopping and accepts no new work |
    /// | -32003 | Permission denied: the peer may not call a mutating method |
    /// | -32004 | Conflict: the request contradicts the current state |
    /// | -32005 | Not found: the named run (or other object) does not exist |
    public enum Code {
        public static let parseError = -32700
        public static let invalidRequest = -32600
        public static let methodNotFound = -32601
        public static let invalidParams = -32602
        public static let internalError = -32603
        public static let tooManyConnections = -32000
        public static let requestTooLarge = -32001
        public static let shuttingDown = -32002
        public static let permissionDenied = -32003
        public static let conflict = -32004
        public static let notFound = -32005
    }

    public static let parseError = JSONRPCError(code: Code.parseError, message: "Parse error")
    public static let invalidRequest = JSONRPCError(code: Code.invalidRequest, message: "Invalid Request")
    public static let methodNotFound = JSONRPCError(code: Code.methodNotFound, message: "Method not found")
    public static let internalError = JSONRPCError(code: Code.internalError, message: "Internal error")

    /// -32602 with a message naming the offending field, e.g. `invalidParams("params.date: expected YYYY-MM-DD")`.
    public static func invalidParams(_ message: String) -> JSONRPCError {
        JSONRPCError(code: Code.invalidParams, message: "Invalid params: \(message)")
    }

    public static func invalidRequest(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: Code.invalidRequest, message: "Invalid Request", data: ["reason": .string(detail)])
    }

    public static func tooManyConnections(limit: Int) -> JSONRPCError {
        JSONRPCError(
            code: Code.tooManyConnections, message: "Too many connections",
            data: ["limit": .integer(Int64(limit))])
    }

    public static func requestTooLarge(limit: Int) -> JSONRPCError {
        JSONRPCError(
            code: Code.requestTooLarge, message: "Request too large",
            data: ["maxLineBytes": .integer(Int64(limit))])
    }

    public static let shuttingDown = JSONRPCError(code: Code.shuttingDown, message: "Shutting down")

    public static func permissionDenied(method: String) -> JSONRPCError {
        JSONRPCError(
            code: Code.permissionDenied, message: "permission denied",
            data: [
                "method": .string(method),
                "reason": .string("mutating methods need uid 0, the daemon's uid, or the admin group"),
            ])
    }

    public static func notFound(_ message: String) -> JSONRPCError {
        JSONRPCError(code: Code.notFound, message: message)
    }

    public static func conflict(_ message: String) -> JSONRPCError {
        JSONRPCError(code: Code.conflict, message: message)
    }
}

/// A JSON-RPC 2.0 request or notification.
public struct JSONRPCRequest: Sendable, Hashable {
    /// nil for a notification (no `id` member): the server never answers it.
    public var id: JSONRPCID?
    public var method: String
    /// An array (by position) or an object (by name), or nil when the member was absent.
    public var params: JSONValue?

    public init(id: JSONRPCID?, method: String, params: JSONValue? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    public var isNotification: Bool { id == nil }

    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { members["params"] = params }
        if let id { members["id"] = id.jsonValue }
        return .object(members)
    }

    /// Validates one element of a message as a request object.
    ///
    /// - Returns: the request, or the error to answer with and the id to answer it under (the request's id when
    ///   it could be read, else null — the specification's rule for Invalid Request).
    public static func validate(_ value: JSONValue) -> Result<JSONRPCRequest, InvalidRequest> {
        guard case .object(let members) = value else {
            return .failure(InvalidRequest(id: .null, error: .invalidRequest("expected a request object")))
        }
        var id: JSONRPCID? = nil
        if let rawID = members["id"] {
            guard let parsed = JSONRPCID(rawID) else {
                return .failure(
                    InvalidRequest(id: .null, error: .invalidRequest("id must be a string, number or null")))
            }
            id = parsed
        }
        let answerID = id ?? .null
        guard members["jsonrpc"] == .string("2.0") else {
            return .failure(InvalidRequest(id: answerID, error: .invalidRequest("jsonrpc must be the string \"2.0\"")))
        }
        guard case .string(let method)? = members["method"] else {
            return .failure(InvalidRequest(id: answerID, error: .invalidRequest("method must be a string")))
        }
        let params = members["params"]
        switch params {
        case nil, .array?, .object?: break
        default:
            return .failure(
                InvalidRequest(id: answerID, error: .invalidRequest("params must be an array or an object")))
        }
        return .success(JSONRPCRequest(id: id, method: method, params: params))
    }

    /// Why an element is not a valid request, and the id to answer under.
    public struct InvalidRequest: Error, Sendable, Hashable {
        public var id: JSONRPCID
        public var error: JSONRPCError
    }
}

/// A JSON-RPC 2.0 response: a result or an error, under the request's id.
public struct JSONRPCResponse: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case result(JSONValue)
        /// A result whose text was written before (shared by many callers); spliced into the response as is.
        case encodedResult(EncodedJSON)
        case error(JSONRPCError)
    }

    public var id: JSONRPCID
    public var outcome: Outcome

    public init(id: JSONRPCID, outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }

    public init(id: JSONRPCID, result: JSONValue) { self.init(id: id, outcome: .result(result)) }
    public init(id: JSONRPCID, error: JSONRPCError) { self.init(id: id, outcome: .error(error)) }

    public var jsonValue: JSONValue {
        switch outcome {
        case .result(let result): return ["jsonrpc": "2.0", "result": result, "id": id.jsonValue]
        case .encodedResult(let result):
            return ["jsonrpc": "2.0", "result": (try? JSONValue(parsing: result.text.utf8)) ?? .null, "id": id.jsonValue]
        case .error(let error): return ["jsonrpc": "2.0", "error": error.jsonValue, "id": id.jsonValue]
        }
    }

    /// The compact one-line wire text: `{"jsonrpc":"2.0","result":…,"id":…}` in the specification's member order.
    public var jsonText: String {
        var out = "{\"jsonrpc\":\"2.0\","
        switch outcome {
        case .result(let result):
            out += "\"result\":"
            result.write(to: &out)
        case .encodedResult(let result):
            out += "\"result\":"
            out += result.text
        case .error(let error):
            out += "\"error\":"
            error.jsonValue.write(to: &out)
        }
        out += ",\"id\":"
        id.jsonValue.write(to: &out)
        out += "}"
        return out
    }

    /// Reads a response object received from a server.
    public init?(_ value: JSONValue) {
        guard case .object(let members) = value, members["jsonrpc"] == .string("2.0"),
            let rawID = members["id"], let id = JSONRPCID(rawID)
        else { return nil }
        if let result = members["result"], members["error"] == nil {
            self.init(id: id, result: result)
        } else if let errorValue = members["error"], members["result"] == nil, let error = JSONRPCError(errorValue) {
            self.init(id: id, error: error)
        } else {
            return nil
        }
    }
}
