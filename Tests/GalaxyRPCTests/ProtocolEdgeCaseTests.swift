import GalaxyCore
import GalaxyRPC
import Testing

@Suite("JSON-RPC edge cases")
struct ProtocolEdgeCaseTests {
    /// (request, expected answer without error data, or nil for no answer).
    static let cases: [(String, String?)] = [
        // A null id is a request, not a notification.
        (#"{"jsonrpc":"2.0","method":"get_data","id":null}"#, #"{"jsonrpc":"2.0","result":["hello",5],"id":null}"#),
        // Ids come back exactly as sent.
        (#"{"jsonrpc":"2.0","method":"get_data","id":-7}"#, #"{"jsonrpc":"2.0","result":["hello",5],"id":-7}"#),
        (#"{"jsonrpc":"2.0","method":"get_data","id":1.5}"#, #"{"jsonrpc":"2.0","result":["hello",5],"id":1.5}"#),
        (#"{"jsonrpc":"2.0","method":"get_data","id":"ü ✓"}"#,
         #"{"jsonrpc":"2.0","result":["hello",5],"id":"ü ✓"}"#),
        // Ids that cannot be ids.
        (#"{"jsonrpc":"2.0","method":"get_data","id":{}}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
        (#"{"jsonrpc":"2.0","method":"get_data","id":[]}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
        (#"{"jsonrpc":"2.0","method":"get_data","id":true}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
        // Version must be the string "2.0"; the detectable id is echoed.
        (#"{"jsonrpc":"2.1","method":"get_data","id":4}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":4}"#),
        (#"{"jsonrpc":2.0,"method":"get_data","id":4}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":4}"#),
        (#"{"method":"get_data","id":4}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":4}"#),
        // Params must be structured.
        (#"{"jsonrpc":"2.0","method":"get_data","params":3,"id":4}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":4}"#),
        // Not a request object.
        ("1", #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
        ("null", #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
        (#""text""#, #"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#),
        ("[null]", #"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}]"#),
        // Malformed JSON of several kinds.
        ("{", #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#),
        (#"{"jsonrpc":"2.0","method":"get_data","id":1,}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#),
        ("nonsense", #"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#),
        // Notifications of unknown methods or with bad params are never answered.
        (#"{"jsonrpc":"2.0","method":"nope"}"#, nil),
        (#"{"jsonrpc":"2.0","method":"runDaily","params":{"date":"x"}}"#, nil),
        // A handler's own failure is an internal error whose text does not leak.
        (#"{"jsonrpc":"2.0","method":"boom","id":9}"#,
         #"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":9}"#),
    ]

    @Test("edge case", arguments: 0..<cases.count)
    func edgeCase(index: Int) async throws {
        let (request, expected) = Self.cases[index]
        try await withServer { _, path in
            try await withConnection(to: path) { connection in
                try await connection.sendLine(request)
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":"probe"}"#)
                let first = try await connection.readJSON()
                if let expected {
                    #expect(withoutErrorData(first) == (try JSONValue(parsing: expected)))
                } else {
                    #expect(first["id"] == "probe", "a notification was answered: \(first)")
                }
            }
        }
    }

    /// (params, expected -32602 message) for the shared method params.
    static let invalidParams: [(String, String, String)] = [
        ("runDaily", #"{"date":"2024-13-01"}"#, "Invalid params: params.date: expected YYYY-MM-DD"),
        ("runDaily", #"{"date":20240105}"#, "Invalid params: params.date: expected YYYY-MM-DD"),
        ("runDaily", #"{"dte":"2024-01-05"}"#, "Invalid params: params.dte: unknown parameter"),
        ("runDaily", #"["2024-01-05"]"#, "Invalid params: params: expected an object (by-name params), got an array"),
        ("cancel", #"{}"#, "Invalid params: params.runId: missing"),
        ("cancel", #"{"runId":"seven"}"#, "Invalid params: params.runId: expected an integer"),
        ("cancel", #"{"runId":null}"#, "Invalid params: params.runId: expected an integer, got null"),
        ("backfill", #"{"startYear":"2001"}"#, "Invalid params: params.startYear: expected an integer"),
        ("backfill", #"{"startYear":1980}"#,
         "Invalid params: params.startYear: expected a year between 1990 and 2026"),
        ("backfill", #"{"startYear":2001,"datasets":["price","bonds"]}"#,
         "Invalid params: params.datasets[1]: unknown dataset 'bonds'; expected one of "
            + "stock, sector, price, valuation, etf, etf_price"),
        ("backfill", #"{"startYear":2001,"onlyFailed":"yes"}"#,
         "Invalid params: params.onlyFailed: expected a boolean"),
    ]

    @Test("invalid params name the field", arguments: 0..<invalidParams.count)
    func invalidParamsNameTheField(index: Int) async throws {
        let (method, params, message) = Self.invalidParams[index]
        try await withServer { _, path in
            let answer = try await RPCClient(socketPath: path).exchange(
                #"{"jsonrpc":"2.0","method":"\#(method)","params":\#(params),"id":1}"#)
            let line = try #require(answer)
            let error = try #require(try JSONValue(parsing: line)["error"])
            #expect(error["code"] == .integer(-32602))
            #expect(error["message"] == .string(message))
        }
    }

    @Test("typed params decode what the API documents")
    func typedParams() throws {
        let daily = try RunDailyParams.decode(from: ["date": "2024-01-05"])
        #expect(daily.date?.date == TradeDate(year: 2024, month: 1, day: 5))
        #expect(try RunDailyParams.decode(from: ["date": "20240105"]).date == daily.date)
        #expect(try RunDailyParams.decode(from: nil).date == nil)
        #expect(try RunDailyParams.decode(from: ["date": nil]).date == nil)
        let backfill = try BackfillParams.decode(from: ["startYear": 2001, "datasets": ["price", "etf_price"]])
        #expect(backfill == BackfillParams(startYear: 2001, datasets: [.price, .etfPrice], onlyFailed: nil))
        #expect(try JSONValue(encoding: daily) == ["date": "2024-01-05"])
        #expect(try StatusParams.decode(from: ["runId": 12]).runId == 12)
    }
}
