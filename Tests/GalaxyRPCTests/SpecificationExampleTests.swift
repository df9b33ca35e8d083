import GalaxyCore
import GalaxyRPC
import Testing

/// Every example of the JSON-RPC 2.0 specification's "Examples" section, sent over a real Unix socket.
@Suite("JSON-RPC 2.0 specification examples")
struct SpecificationExampleTests {
    /// (request line, expected answer, or nil when the server must answer nothing).
    static let examples: [(String, String?)] = [
        // rpc call with positional parameters
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
         #"{"jsonrpc": "2.0", "result": 19, "id": 1}"#),
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
         #"{"jsonrpc": "2.0", "result": -19, "id": 2}"#),
        // rpc call with named parameters
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
         #"{"jsonrpc": "2.0", "result": 19, "id": 3}"#),
        (#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
         #"{"jsonrpc": "2.0", "result": 19, "id": 4}"#),
        // a Notification
        (#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#, nil),
        (#"{"jsonrpc": "2.0", "method": "foobar"}"#, nil),
        // rpc call of non-existent method
        (#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
         #"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#),
        // rpc call with invalid JSON
        (#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
         #"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#),
        // rpc call with invalid Request object
        (#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
         #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#),
        // rpc call Batch, invalid JSON
        (#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method""#
            + "]",
         #"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#),
        // rpc call with an empty Array
        ("[]", #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#),
        // rpc call with an invalid Batch (but not empty)
        ("[1]", #"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#),
        // rpc call with invalid Batch
        ("[1,2,3]",
         #"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},"#
            + #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},"#
            + #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#),
        // rpc call Batch
        (#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},"#
            + #"{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},"#
            + #"{"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},"#
            + #"{"foo": "boo"},"#
            + #"{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},"#
            + #"{"jsonrpc": "2.0", "method": "get_data", "id": "9"}]"#,
         #"[{"jsonrpc": "2.0", "result": 7, "id": "1"},"#
            + #"{"jsonrpc": "2.0", "result": 19, "id": "2"},"#
            + #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},"#
            + #"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},"#
            + #"{"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}]"#),
        // rpc call Batch (all notifications)
        (#"[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},"#
            + #"{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"#, nil),
    ]

    @Test("each example gets the specified answer, or none", arguments: 0..<examples.count)
    func example(index: Int) async throws {
        let (request, expected) = Self.examples[index]
        try await withServer { _, path in
            try await withConnection(to: path) { connection in
                try await connection.sendLine(request)
                // A probe after the request: when the example must answer nothing, the probe's answer comes first.
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":"probe"}"#)
                let first = try await connection.readJSON()
                if let expected {
                    #expect(withoutErrorData(first) == (try JSONValue(parsing: expected)))
                    let probe = try await connection.readJSON()
                    #expect(probe["id"] == "probe")
                } else {
                    #expect(first["id"] == "probe", "a notification was answered: \(first)")
                }
            }
        }
    }

    @Test("answers are compact single lines with members in the specification's order")
    func wireFormat() async throws {
        try await withServer { _, path in
            try await withConnection(to: path) { connection in
                try await connection.sendLine(#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#)
                #expect(try await connection.readLine() == #"{"jsonrpc":"2.0","result":19,"id":1}"#)
                try await connection.sendLine(#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#)
                #expect(
                    try await connection.readLine()
                        == #"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"1"}"#)
            }
        }
    }
}
