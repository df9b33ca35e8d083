#if canImport(Glibc)
import GalaxyCore
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Limits of the control server. The defaults suit a CLI talking to a daemon: short connections, small requests.
public struct RPCServerConfiguration: Sendable {
    /// Longest accepted request line in bytes (a batch is one line). Longer → -32001 "Request too large", then close.
    public var maxLineBytes: Int = 1 << 20
    /// Connections served at once; one more gets a -32000 "Too many connections" line and is closed. Generous
    /// enough for fifty clients polling with a connection per call (each closing one lingers until its task ends);
    /// the per-uid limit below is what keeps one user from taking every slot.
    public var maxConnections: Int = 256
    /// Connections one uid may hold at once (root is exempt), so one user's runaway script cannot take every slot
    /// from the others.
    public var maxConnectionsPerUID: Int = 16
    /// A connection with no outstanding request and no traffic for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// A started line must be finished within this time (a client trickling bytes cannot hold a slot forever).
    public var lineTimeout: TimeAmount = .seconds(10)
    /// A peer that does not read its answers for this long (the socket stays full) is disconnected.
    public var writeTimeout: TimeAmount = .seconds(10)
    /// Requests of one connection processed concurrently (answers are still written in request order).
    public var maxInFlightPerConnection: Int = 8
    /// Most requests in one batch; more → -32600.
    public var maxBatchSize: Int = 100
    /// How long `shutdown()` lets in-flight requests finish before closing connections.
    public var shutdownGracePeriod: TimeAmount = .seconds(5)
    /// The `listen(2)` backlog for a path the server binds itself.
    public var backlog: Int32 = 64

    public init() {}
}

/// The JSON-RPC 2.0 control server: newline-delimited JSON over a Unix stream socket.
///
/// Create it with `bind(...)` (the socket is listening when it returns, so the daemon may then send `READY=1`),
/// serve with `run()`, stop with `shutdown()` (or by cancelling the task running `run()`).
///
/// Each connection is served by its own task: a handler that takes long, or a client that floods or stops reading,
/// holds up only its own connection. Requests of one connection run concurrently up to
/// `maxInFlightPerConnection` and are answered in order.
public final class RPCServer: Sendable {
    public let configuration: RPCServerConfiguration
    public let address: RPCListenAddress
    private let methods: MethodRegistry
    private let authorisation: RPCAuthorisationPolicy
    private let logger: Logger
    private let listener: NIOAsyncChannel<AcceptedConnection, Never>
    private let state: LockedState

    fileprivate final class LockedState: Sendable {
        private let mutex = Mutex(State())

        func withLock<R: Sendable>(_ body: (inout State) -> R) -> R {
            mutex.withLock { body(&$0) }
        }
    }

    fileprivate struct State: Sendable {
        /// Connections being served, by number.
        var connections: [Int: any Channel] = [:]
        /// The peer uid of each served connection, by number (for the per-uid limit).
        var connectionUIDs: [Int: UInt32] = [:]
        /// Every accepted connection still open, served or not (closed at the end of a shutdown).
        var open: [ObjectIdentifier: any Channel] = [:]
        var nextConnectionNumber = 0
        var isShuttingDown = false
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// A connection as accepted on the event loop: framing installed, reading still off (`autoRead` is false until
    /// the connection's task wraps it), so no byte arrives before someone is there to take it and dropping an
    /// unserved one at shutdown loses nothing but an open socket (closed by `run()`).
    struct AcceptedConnection: Sendable {
        var channel: any Channel
        var peer: PeerCredentials?
    }

    private init(
        configuration: RPCServerConfiguration, address: RPCListenAddress, methods: MethodRegistry,
        authorisation: RPCAuthorisationPolicy, logger: Logger,
        listener: NIOAsyncChannel<AcceptedConnection, Never>, state: LockedState
    ) {
        self.configuration = configuration
        self.address = address
        self.methods = methods
        self.authorisation = authorisation
        self.logger = logger
        self.listener = listener
        self.state = state
    }

    /// Binds (or adopts) the listening socket.
    ///
    /// - Parameters:
    ///   - address: a path to bind (dev mode) or an inherited listening fd (socket activation).
    ///   - methods: the API.
    ///   - authorisation: who may call mutating methods.
    /// - Throws: `RPCListenError` naming the path and the reason (in use by another server, not a socket, …).
    public static func bind(
        _ address: RPCListenAddress,
        methods: MethodRegistry,
        authorisation: RPCAuthorisationPolicy,
        configuration: RPCServerConfiguration = RPCServerConfiguration(),
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RPCServer {
        let fd: Int32
        switch address {
        case .path(let path, let mode):
            fd = try UnixListener.bindAndListen(path: path, mode: mode, backlog: configuration.backlog)
        case .adopted(let inherited):
            fd = inherited
        }
        let config = configuration
        let connectionLogger = logger
        let state = LockedState()
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.autoRead, value: false)
        let listener: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            listener = try await bootstrap.bind(fd) { channel in
                PeerCredentials.read(from: channel).flatMapThrowing { peer in
                    try channel.pipeline.syncOperations.addHandler(
                        LineFramingHandler(
                            maxLineBytes: config.maxLineBytes, idleTimeout: config.idleTimeout,
                            lineTimeout: config.lineTimeout, writeTimeout: config.writeTimeout,
                            logger: connectionLogger))
                    let key = ObjectIdentifier(channel)
                    state.withLock { $0.open[key] = channel }
                    channel.closeFuture.whenComplete { _ in _ = state.withLock { $0.open.removeValue(forKey: key) } }
                    return AcceptedConnection(channel: channel, peer: peer)
                }
            }
        } catch {
            if case .path(let path, _) = address {
                close(fd)
                unlink(path)
            }
            throw error
        }
        return RPCServer(
            configuration: configuration, address: address, methods: methods, authorisation: authorisation,
            logger: logger, listener: listener, state: state)
    }

    /// Serves connections until `shutdown()` is called or the calling task is cancelled. In path mode the socket file
    /// is removed when it returns (an adopted socket's path belongs to systemd and stays).
    public func run() async throws {
        defer {
            if case .path(let path, _) = address { unlink(path) }
        }
        try await withThrowingDiscardingTaskGroup { group in
            do {
                try await listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        accept(connection, in: &group)
                    }
                }
            } catch {
                // Closing the listener in `shutdown()` may end the accept loop with an error; that is the plan.
                guard isShuttingDown else { throw error }
            }
            // The listener is closed: let open connections finish what they were asked, then close them.
            let channels = state.withLock { state in
                state.isShuttingDown = true
                return Array(state.connections.values)
            }
            for channel in channels {
                channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
            guard !channels.isEmpty else {
                // Nothing is being served; close connections accepted but never taken up by the loop.
                for channel in state.withLock({ Array($0.open.values) }) { channel.close(promise: nil) }
                return
            }
            let grace = configuration.shutdownGracePeriod
            group.addTask {
                await withTaskGroup(of: Void.self) { race in
                    race.addTask { await self.waitUntilDrained() }
                    race.addTask { try? await Task.sleep(for: .nanoseconds(grace.nanoseconds)) }
                    await race.next()
                    race.cancelAll()
                    // Release a drain waiter still suspended because the grace period ran out first.
                    let waiters = self.state.withLock { state in
                        defer { state.drainWaiters = [] }
                        return state.drainWaiters
                    }
                    for waiter in waiters { waiter.resume() }
                }
                let remaining = self.state.withLock { Array($0.open.values) }
                for channel in remaining { channel.close(promise: nil) }
            }
        }
    }

    private func accept(_ connection: AcceptedConnection, in group: inout ThrowingDiscardingTaskGroup<any Error>) {
        let admitted = state.withLock { state -> Result<Int, JSONRPCError> in
            if state.isShuttingDown { return .failure(.shuttingDown) }
            guard state.connections.count < configuration.maxConnections else {
                return .failure(.tooManyConnections(limit: configuration.maxConnections))
            }
            let uid = connection.peer?.uid ?? UInt32.max
            if uid != 0,
                state.connectionUIDs.values.lazy.filter({ $0 == uid }).count >= configuration.maxConnectionsPerUID
            {
                return .failure(.tooManyConnections(limit: configuration.maxConnectionsPerUID))
            }
            state.nextConnectionNumber += 1
            state.connections[state.nextConnectionNumber] = connection.channel
            state.connectionUIDs[state.nextConnectionNumber] = uid
            return .success(state.nextConnectionNumber)
        }
        group.addTask {
            switch admitted {
            case .success(let number):
                await self.serve(connection, number: number)
                let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    state.connections.removeValue(forKey: number)
                    state.connectionUIDs.removeValue(forKey: number)
                    guard state.connections.isEmpty else { return [] }
                    defer { state.drainWaiters = [] }
                    return state.drainWaiters
                }
                for waiter in waiters { waiter.resume() }
            case .failure(let refusal):
                await self.refuse(connection, with: refusal)
            }
        }
    }

    /// Returns when no connection is open (or when the grace period's end releases it).
    private func waitUntilDrained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.connections.isEmpty || Task.isCancelled { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private var isShuttingDown: Bool { state.withLock { $0.isShuttingDown } }

    /// Stops accepting connections; requests already received are answered, then connections close and `run()`
    /// returns.
    public func shutdown() {
        state.withLock { $0.isShuttingDown = true }
        listener.channel.close(promise: nil)
    }

    /// The number of connections being served now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    // MARK: - Connections

    private func refuse(_ connection: AcceptedConnection, with refusal: JSONRPCError) async {
        logger.warning(
            "refusing control connection",
            metadata: [
                "reason": "\(refusal.message)", "limit": "\(configuration.maxConnections)",
                "peer": "\(connection.peer.map { "\($0)" } ?? "?")",
            ])
        let line = JSONRPCResponse(id: .null, error: refusal).jsonText
        let channel = connection.channel
        try? await channel.writeAndFlush(ByteBuffer(string: line + "\n"))
        try? await channel.close()
    }

    private func serve(_ connection: AcceptedConnection, number: Int) async {
        var logger = self.logger
        logger[metadataKey: "connection"] = "\(number)"
        if let peer = connection.peer {
            logger[metadataKey: "peer_pid"] = "\(peer.pid)"
            logger[metadataKey: "peer_uid"] = "\(peer.uid)"
        }
        let peer = connection.peer
        let authorised = authorisation.mayMutate(peer)
        let maxInFlight = max(1, configuration.maxInFlightPerConnection)
        let channel = connection.channel
        let eventLoop = channel.eventLoop
        let connectionLogger = logger
        do {
            let (asyncChannel, framer) = try await eventLoop.submit {
                let wrapped = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                    wrappingChannelSynchronously: channel,
                    configuration: .init(
                        backPressureStrategy: .init(lowWatermark: 2, highWatermark: 16),
                        isOutboundHalfClosureEnabled: false))
                let framer = try channel.pipeline.syncOperations.handler(type: LineFramingHandler.self)
                framer.attach()
                try channel.syncOptions?.setOption(.autoRead, value: true)
                return (wrapped, NIOLoopBound(framer, eventLoop: eventLoop))
            }.get()
            try await asyncChannel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let (answers, answerQueue) = AsyncStream.makeStream(of: EventLoopFuture<ByteBuffer>.self)
                    let (slots, slotReleases) = AsyncStream.makeStream(of: Void.self)
                    for _ in 0..<maxInFlight { slotReleases.yield() }
                    // The writer: answers in request order, each as soon as it and all before it are ready.
                    group.addTask {
                        defer { slotReleases.finish() }
                        for await answer in answers {
                            let buffer = try await answer.get()
                            if buffer.readableBytes > 0 {
                                try await outbound.write(buffer)
                            } else {
                                // Nothing to send: tell the framer without a round trip through the writer.
                                eventLoop.execute { framer.value.acknowledgeUnansweredLine() }
                            }
                            slotReleases.yield()
                        }
                    }
                    var slotIterator = slots.makeAsyncIterator()
                    do {
                        for try await line in inbound {
                            guard await slotIterator.next() != nil else { break }
                            let promise = eventLoop.makePromise(of: ByteBuffer.self)
                            answerQueue.yield(promise.futureResult)
                            group.addTask {
                                let text = await self.answer(
                                    line: line, peer: peer, authorised: authorised, logger: connectionLogger)
                                promise.succeed(text.map { ByteBuffer(string: $0 + "\n") } ?? ByteBuffer())
                            }
                        }
                    } catch let error as RPCLineTooLongError {
                        connectionLogger.notice(
                            "closing control connection: request line too long",
                            metadata: ["limit": "\(error.limit)"])
                        let line = JSONRPCResponse(id: .null, error: .requestTooLarge(limit: error.limit)).jsonText
                        answerQueue.yield(eventLoop.makeSucceededFuture(ByteBuffer(string: line + "\n")))
                    }
                    answerQueue.finish()
                    try await group.waitForAll()
                }
            }
        } catch {
            logger.debug("control connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - JSON-RPC processing

    /// The answer to one line, or nil when nothing is to be sent (a notification, or a batch of them).
    func answer(line: ByteBuffer, peer: PeerCredentials?, authorised: Bool, logger: Logger) async -> String? {
        let message: JSONValue
        do {
            message = try JSONValue(parsing: line.readableBytesView)
        } catch {
            return JSONRPCResponse(id: .null, error: .parseError).jsonText
        }
        if case .array(let elements) = message {
            guard !elements.isEmpty else {
                return JSONRPCResponse(id: .null, error: .invalidRequest("empty batch")).jsonText
            }
            guard elements.count <= configuration.maxBatchSize else {
                return JSONRPCResponse(
                    id: .null, error: .invalidRequest("batch larger than \(configuration.maxBatchSize) requests")
                ).jsonText
            }
            var responses: [String] = []
            for element in elements {
                if let response = await answer(element: element, peer: peer, authorised: authorised, logger: logger) {
                    responses.append(response.jsonText)
                }
            }
            return responses.isEmpty ? nil : "[" + responses.joined(separator: ",") + "]"
        }
        return await answer(element: message, peer: peer, authorised: authorised, logger: logger)?.jsonText
    }

    private func answer(
        element: JSONValue, peer: PeerCredentials?, authorised: Bool, logger: Logger
    ) async -> JSONRPCResponse? {
        let request: JSONRPCRequest
        switch JSONRPCRequest.validate(element) {
        case .failure(let invalid): return JSONRPCResponse(id: invalid.id, error: invalid.error)
        case .success(let valid): request = valid
        }
        let outcome = await call(request, peer: peer, authorised: authorised, logger: logger)
        guard let id = request.id else { return nil }
        return JSONRPCResponse(id: id, outcome: outcome)
    }

    private func call(
        _ request: JSONRPCRequest, peer: PeerCredentials?, authorised: Bool, logger: Logger
    ) async -> JSONRPCResponse.Outcome {
        guard let method = methods[request.method] else { return .error(.methodNotFound) }
        if method.isMutating {
            guard authorised else {
                logger.warning(
                    "permission denied for mutating method",
                    metadata: ["method": "\(request.method)", "peer": "\(peer.map { "\($0)" } ?? "unknown")"])
                return .error(.permissionDenied(method: request.method))
            }
            if isShuttingDown { return .error(.shuttingDown) }
            logger.info(
                "mutating call",
                metadata: [
                    "method": "\(request.method)", "peer_pid": "\(peer?.pid ?? -1)", "peer_uid": "\(peer?.uid ?? 0)",
                ])
        }
        let context = RPCRequestContext(
            peer: peer, isAuthorisedForMutation: authorised, requestID: request.id, logger: logger)
        do {
            switch try await method.handler(context, request.params) {
            case .value(let value): return .result(value)
            case .encoded(let text): return .encodedResult(text)
            }
        } catch let error as JSONRPCError {
            return .error(error)
        } catch {
            logger.error(
                "method failed with an internal error", metadata: ["method": "\(request.method)", "error": "\(error)"])
            return .error(.internalError)
        }
    }
}
