import GalaxyCore
import GalaxyRPC
import NIOCore
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients that flood, stop reading, half-close or send oversized batches: each costs only its own connection.
@Suite("Misbehaving clients", .timeLimit(.minutes(1)))
struct MisbehavingClientTests {
    @Test("a client flooding requests does not keep another client from being answered")
    func floodingClient() async throws {
        try await withServer { _, path in
            let floodDone = Flag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await withConnection(to: path) { flood in
                        // 10,000 notifications (~0.6 MB), written as fast as the socket takes them.
                        let line = #"{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}"# + "\n"
                        let chunk = String(repeating: line, count: 1000)
                        for _ in 0..<10 { try await flood.send(chunk) }
                        try await flood.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":"last"}"#)
                        #expect(try await flood.readJSON()["id"] == "last")
                    }
                    floodDone.set()
                }
                try await Task.sleep(for: .milliseconds(20))
                let client = RPCClient(socketPath: path)
                for index in 0..<10 {
                    let answer = try await client.call(method: "subtract", params: [.integer(Int64(index)), 1])
                    #expect(answer == .integer(Int64(index - 1)))
                    if index == 0 {
                        let floodWasDone = floodDone.isSet
                        #expect(!floodWasDone, "the flood ended before the other client was answered; make it larger")
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("a client that stops reading its answers is disconnected; others are served meanwhile")
    func clientThatDoesNotRead() async throws {
        var configuration = RPCServerConfiguration()
        configuration.writeTimeout = .seconds(1)
        try await withServer(configuration: configuration) { server, path in
            try await withConnection(to: path) { stuck in
                // 2,000 answers of 16 KiB (32 MB) that the client never reads while sending.
                let requests = 2000
                let outbound = stuck.outbound
                let sender = Task {
                    let line = #"{"jsonrpc":"2.0","method":"big","id":1}"# + "\n"
                    for _ in 0..<(requests / 100) {
                        try await outbound.write(ByteBuffer(string: String(repeating: line, count: 100)))
                    }
                }
                defer { sender.cancel() }
                try await Task.sleep(for: .milliseconds(100))
                for _ in 0..<5 {
                    let answer = try await RPCClient(socketPath: path).call(method: "get_data")
                    #expect(answer == ["hello", 5])
                }
                // Not reading for longer than the server's patience is the behaviour under test.
                try await Task.sleep(for: .seconds(3))
                // Now read: what the server had written before it gave up, then the end of the connection.
                var received = 0
                while try await stuck.readLine() != nil { received += 1 }
                #expect(received < requests, "the server kept writing to a client that did not read")
            }
            _ = server
        }
    }

    @Test("a client that half-closes after its request still gets the answer")
    func halfClose() async throws {
        try await withServer { _, path in
            try await withConnection(to: path) { connection in
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"sleep","params":{"ms":100},"id":1}"#)
                try await connection.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":2}"#)
                try await connection.closeOutput()
                #expect(try await connection.readJSON()["result"] == 100)
                #expect(try await connection.readJSON()["id"] == 2)
                #expect(try await connection.readLine() == nil)
            }
        }
    }

    @Test("a client that sends everything and shuts down its side at once (nc -N) gets every answer")
    func halfCloseImmediately() async throws {
        try await withServer { _, path in
            let script = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                s.sendall(b'{"jsonrpc":"2.0","method":"sleep","params":{"ms":50},"id":1}\\n'
                          b'{"jsonrpc":"2.0","method":"get_data","id":2}\\n')
                s.shutdown(socket.SHUT_WR)
                s.settimeout(10)
                data = b''
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                sys.stdout.write(data.decode())
                """
            let (status, output) = try await runProcess(["/usr/bin/python3", "-c", script, path])
            try #require(status == 0, "client failed: \(output)")
            let answers = try output.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
            #expect(answers.map { $0["id"] } == [1, 2])
            #expect(answers.first?["result"] == 50)
        }
    }

    @Test("a batch over the limit is one Invalid Request, and the connection stays usable")
    func batchTooLarge() async throws {
        var configuration = RPCServerConfiguration()
        configuration.maxBatchSize = 100
        try await withServer(configuration: configuration) { _, path in
            try await withConnection(to: path) { connection in
                let call = #"{"jsonrpc":"2.0","method":"get_data","id":1}"#
                try await connection.sendLine("[" + Array(repeating: call, count: 101).joined(separator: ",") + "]")
                let answer = try await connection.readJSON()
                #expect(answer["error"]?["code"] == .integer(-32600))
                #expect(answer["id"] == .null)
                try await connection.sendLine("[" + Array(repeating: call, count: 100).joined(separator: ",") + "]")
                guard case .array(let answers) = try await connection.readJSON() else {
                    Issue.record("expected a batch answer")
                    return
                }
                #expect(answers.count == 100)
            }
        }
    }

    @Test("one uid cannot take more than its share of connections; root is not limited")
    func perUIDLimit() async throws {
        try #require(geteuid() == 0, "this test needs root to run a client as another uid")
        var configuration = RPCServerConfiguration()
        configuration.maxConnectionsPerUID = 2
        try await withServer(configuration: configuration, mode: 0o666) { _, path in
            let script = """
                import socket, sys
                held = []
                for i in range(3):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(sys.argv[1])
                    s.sendall(b'{"jsonrpc":"2.0","method":"get_data","id":%d}\\n' % i)
                    held.append(s)
                for s in held:
                    data = b''
                    while not data.endswith(b'\\n'):
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    sys.stdout.write(data.decode())
                """
            let (status, output) = try await runProcess([
                "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "/usr/bin/python3", "-c", script, path,
            ])
            try #require(status == 0, "client failed: \(output)")
            let answers = try output.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
            try #require(answers.count == 3)
            // Connections are admitted in the order the event loops hand them over, so which one is refused varies.
            #expect(answers.filter { $0["result"] == ["hello", 5] }.count == 2)
            #expect(answers.filter { $0["error"]?["code"] == .integer(-32000) }.count == 1)
            // Root, meanwhile, opens more than two.
            try await withConnection(to: path) { a in
                try await withConnection(to: path) { b in
                    try await withConnection(to: path) { c in
                        for connection in [a, b, c] {
                            try await connection.sendLine(#"{"jsonrpc":"2.0","method":"get_data","id":7}"#)
                            #expect(try await connection.readJSON()["id"] == 7)
                        }
                    }
                }
            }
        }
    }
}
