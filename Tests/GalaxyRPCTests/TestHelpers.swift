import GalaxyCore
import GalaxyRPC
import Logging
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A short private directory under /tmp (socket paths must stay under 108 bytes), removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(mode: mode_t = 0o700) throws {
        var template = Array("/tmp/grpc.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        path = String(cString: made)
        chmod(path, mode)
    }

    func remove() {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let testLogger: Logger = {
    var logger = Logger(label: "galaxy.rpc.test")
    logger.logLevel = ProcessInfoLevel.level
    return logger
}()

/// Runs a server on a fresh socket for the duration of `body`, then shuts it down and waits for it.
@discardableResult
func withServer<R: Sendable>(
    methods: MethodRegistry = specExampleMethods(),
    authorisation: RPCAuthorisationPolicy = RPCAuthorisationPolicy(daemonUID: geteuid(), adminGroupID: nil),
    configuration: RPCServerConfiguration = RPCServerConfiguration(),
    mode: UInt32 = 0o660,
    _ body: @Sendable (_ server: RPCServer, _ path: String) async throws -> R
) async throws -> R {
    let directory = try TemporaryDirectory(mode: mode == 0o660 ? 0o700 : 0o755)
    defer { directory.remove() }
    let path = directory.path + "/control.sock"
    let server = try await RPCServer.bind(
        .path(path, mode: mode), methods: methods, authorisation: authorisation, configuration: configuration,
        logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        do {
            let result = try await body(server, path)
            server.shutdown()
            try await group.waitForAll()
            return result
        } catch {
            server.shutdown()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// A raw NDJSON connection for tests that need several lines, or to see the server close.
final class TestConnection {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel

    init(
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        channel: any Channel
    ) {
        self.iterator = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.channel = channel
    }

    /// Shuts down the sending side (as `nc -N` does after its input), keeping the receiving side open.
    func closeOutput() async throws {
        try await channel.close(mode: .output)
    }

    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    func sendLine(_ text: String) async throws { try await send(text + "\n") }

    /// The next line, or nil when the server closed the connection.
    func readLine() async throws -> String? {
        do {
            guard let buffer = try await iterator.next() else { return nil }
            return String(buffer: buffer)
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .eof {
            return nil
        } catch let error as IOError where error.errnoCode == ECONNRESET {
            return nil
        }
    }

    /// The next line parsed as JSON.
    func readJSON() async throws -> JSONValue {
        guard let line = try await readLine() else { throw TestFailure("connection closed, expected a line") }
        return try JSONValue(parsing: line)
    }
}

func withConnection<R: Sendable>(
    to path: String, _ body: (TestConnection) async throws -> R
) async throws -> R {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(NIOSplitLinesMessageDecoder(omittingEmptySubsequences: true)))
                return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    return try await channel.executeThenClose { inbound, outbound in
        try await body(TestConnection(inbound: inbound, outbound: outbound, channel: channel.channel))
    }
}

/// Removes `data` members of error objects, so answers compare with the specification's examples (which omit the
/// optional `data`).
func withoutErrorData(_ value: JSONValue) -> JSONValue {
    switch value {
    case .array(let elements): return .array(elements.map(withoutErrorData))
    case .object(var members):
        if case .object(var error)? = members["error"] {
            error["data"] = nil
            members["error"] = .object(error)
        }
        return .object(members)
    default: return value
    }
}

/// The methods the JSON-RPC 2.0 specification's examples call.
func specExampleMethods() -> MethodRegistry {
    var methods = MethodRegistry()
    methods.register("subtract", mutating: false) { _, params in
        switch params {
        case .array(let values)?:
            guard values.count == 2, let a = values[0].integerValue, let b = values[1].integerValue else {
                throw JSONRPCError.invalidParams("params: expected two integers")
            }
            return .integer(a - b)
        case .object?:
            guard let a = params?["minuend"]?.integerValue else {
                throw JSONRPCError.invalidParams("params.minuend: expected an integer")
            }
            guard let b = params?["subtrahend"]?.integerValue else {
                throw JSONRPCError.invalidParams("params.subtrahend: expected an integer")
            }
            return .integer(a - b)
        default:
            throw JSONRPCError.invalidParams("params: expected two integers")
        }
    }
    methods.register("sum", mutating: false) { _, params in
        guard case .array(let values)? = params else { throw JSONRPCError.invalidParams("params: expected an array") }
        return .integer(values.compactMap(\.integerValue).reduce(0, +))
    }
    methods.register("update", mutating: false) { _, _ in .null }
    methods.register("notify_hello", mutating: false) { _, _ in .null }
    methods.register("notify_sum", mutating: false) { _, _ in .null }
    methods.register("get_data", mutating: false) { _, _ in ["hello", 5] }
    methods.register("whoami", mutating: false) { context, _ in
        [
            "uid": .integer(Int64(context.peer?.uid ?? 999_999)),
            "pid": .integer(Int64(context.peer?.pid ?? -1)),
            "mayMutate": .bool(context.isAuthorisedForMutation),
        ]
    }
    methods.register("mutate", mutating: true) { _, _ in "done" }
    methods.register("boom", mutating: false) { _, _ in
        struct Secretive: Error {}
        throw Secretive()
    }
    methods.register("big", mutating: false) { _, _ in
        .string(String(repeating: "x", count: 16 * 1024))
    }
    methods.register("sleep", mutating: false) { _, params in
        let ms = params?["ms"]?.integerValue ?? 100
        try await Task.sleep(for: .milliseconds(ms))
        return .integer(ms)
    }
    methods.register(GalaxyMethod.runDaily, mutating: true, params: RunDailyParams.self) { _, params in
        RunStartedResult(runId: params.date == nil ? 1 : Int64(params.date!.date.day))
    }
    methods.register(GalaxyMethod.backfill, mutating: true, params: BackfillParams.self) { _, params in
        try params.validate(currentYear: 2026)
        return RunStartedResult(runId: Int64(params.startYear))
    }
    methods.register(GalaxyMethod.cancel, mutating: true, params: CancelParams.self) { _, params in
        guard params.runId == 7 else { throw JSONRPCError.notFound("run \(params.runId) not found") }
        return CancelResult(runId: 7, state: "cancelling")
    }
    return methods
}

enum ProcessInfoLevel {
    static var level: Logger.Level {
        getenv("GALAXY_TEST_LOG").map { Logger.Level(rawValue: String(cString: $0)) ?? .critical } ?? .critical
    }
}
