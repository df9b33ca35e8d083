import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A wire-compatible KRX simulator: the data portal (`getJsonData.cmd`, login, holiday calendar, resource bundle)
/// and the Open API on one HTTP/1.1 port, with deterministic synthetic data and faults on demand.
///
/// Start one per test (`port: 0`), point the client's base URLs at `baseURL`, and compare what the client stored
/// with `market` — the same functions that rendered the answers:
///
/// ```swift
/// let sim = try await KRXSimulator.start(SimulatorConfiguration(seed: 7, today: SimDate("2024-03-15")!))
/// defer { Task { try await sim.shutdown() } }
/// sim.faults.inject(.logout, route: "portal/MDCSTAT01501", next: 1)
/// // … run the client against sim.baseURL …
/// #expect(sim.stats().count("portal/MDCSTAT01501") == 2)
/// ```
public final class KRXSimulator: Sendable {
    /// `http://HOST:PORT`, no trailing slash: the base URL for both the portal and the Open API.
    public let baseURL: String
    public let port: Int
    /// The synthetic exchange the answers are computed from.
    public let market: SimulatedMarket
    /// Faults in force; change them at any time.
    public var faults: FaultController { core.faults }
    public var configuration: SimulatorConfiguration { core.configuration }
    /// The simulator's "today" (Asia/Seoul): the portal serves data up to it, the Open API up to the day before.
    public var today: SimDate { core.configuration.clock.today }

    let core: SimulatorCore
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let stopped = Mutex(false)

    private init(core: SimulatorCore, group: MultiThreadedEventLoopGroup, channel: any Channel, host: String) throws {
        self.core = core
        self.market = core.market
        self.group = group
        self.channel = channel
        guard let port = channel.localAddress?.port else { throw SimulatorError.noLocalAddress }
        self.port = port
        self.baseURL = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Builds the market (cached per seed and size), binds the port and starts serving.
    public static func start(_ configuration: SimulatorConfiguration = SimulatorConfiguration()) async throws
        -> KRXSimulator
    {
        let market = MarketCache.market(
            seed: configuration.seed, stockCount: configuration.stockCount, etfCount: configuration.etfCount)
        let core = SimulatorCore(configuration: configuration, market: market)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                // TCP_NODELAY lives at IPPROTO_TCP: `.socketOption(.tcp_nodelay)` would set SOL_SOCKET option 1,
                // SO_DEBUG, which needs CAP_NET_ADMIN — every connection of an unprivileged krx-sim failed.
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(HTTPHandler(core: core))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
            return try KRXSimulator(core: core, group: group, channel: channel, host: configuration.host)
        } catch {
            try? await group.shutdownGracefully()
            throw SimulatorError.bindFailed(host: configuration.host, port: configuration.port, reason: "\(error)")
        }
    }

    /// Requests per route with timestamps since start.
    public func stats() -> SimulatorStats { core.stats.snapshot() }

    /// Forgets the recorded requests.
    public func resetStats() { core.stats.reset() }

    /// Ends every member session at once (as if they all expired): the next data call answers `LOGOUT` when
    /// login is required.
    public func expireSessions() { core.sessions.expireAll() }

    /// Member sessions currently alive.
    public var liveSessionCount: Int { core.sessions.liveSessionCount }

    /// Stops listening, closes every connection (hung ones too) and stops the threads. Safe to call twice.
    public func shutdown() async throws {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}

/// Why the simulator could not start.
public enum SimulatorError: Error, CustomStringConvertible {
    case bindFailed(host: String, port: Int, reason: String)
    case noLocalAddress

    public var description: String {
        switch self {
        case .bindFailed(let host, let port, let reason):
            "krx-sim could not listen on \(host):\(port) (\(reason)); choose another --port or use --port 0"
        case .noLocalAddress: "krx-sim bound a socket without a local address"
        }
    }
}

/// Markets are pure functions of (seed, sizes) and take a moment to build, so parallel tests share them.
enum MarketCache {
    private static let cache = Mutex<[String: SimulatedMarket]>([:])

    static func market(seed: UInt64, stockCount: Int, etfCount: Int) -> SimulatedMarket {
        let key = "\(seed)/\(stockCount)/\(etfCount)"
        if let market = cache.withLock({ $0[key] }) { return market }
        let market = SimulatedMarket(seed: seed, stockCount: stockCount, etfCount: etfCount)
        return cache.withLock { cache in
            if let existing = cache[key] { return existing }
            cache[key] = market
            return market
        }
    }
}

/// Reads one request at a time (NIO's pipeline handler serialises pipelined requests), answers it, applies faults.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: SimulatorCore
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private static let maxBody = 4 << 20

    init(core: SimulatorCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
        case .body(var buffer):
            if body.count + buffer.readableBytes <= Self.maxBody, let bytes = buffer.readBytes(length: buffer.readableBytes) {
                body.append(contentsOf: bytes)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            handle(context: context, head: head)
        }
    }

    private func handle(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let started = core.stats.elapsed()
        let cpuStarted = Self.threadCPUSeconds()
        let (path, query) = Self.split(head.uri)
        let request = SimRequest(method: head.method, path: path, query: query, headers: head.headers, body: body)
        let decision = core.decide(request)
        let keepAlive = head.isKeepAlive
        let acceptsGzip = head.headers[canonicalForm: "accept-encoding"].contains { $0.lowercased().contains("gzip") }

        var response = decision.response
        var truncate = false
        if let fault = decision.fault {
            switch fault {
            case .latency: break
            case .hang:
                if let route = decision.route { core.stats.record(route: route, at: started, status: 0) }
                log(head, path, decision.route, status: 0, bytes: 0, timing: (0, 0, 0))
                return
            case .serverError(let status):
                response = .text(HTTPResponseStatus(statusCode: status), Pages.serverError(status))
            case .truncatedBody:
                truncate = true
            case .malformedJSON:
                let cut = max(1, response.body.count / 2)
                response.body = Array(response.body[0..<cut]) + Array("\",\"<br/>\n".utf8)
                response.status = .ok
            case .blockPage(let status):
                response = .text(HTTPResponseStatus(statusCode: status), Pages.blockPage)
            case .serviceUnavailable:
                response = .text(.forbidden, Pages.serviceUnavailable)
            case .logout:
                response = .text(.badRequest, "LOGOUT")
            case .rateLimited(let seconds):
                response = .text(.tooManyRequests, Pages.serverError(429))
                response.headers.append(("Retry-After", "\(seconds)"))
            }
        }
        if let route = decision.route { core.stats.record(route: route, at: started, status: Int(response.status.code)) }

        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        if decision.route != nil && response.contentType == SimResponse.html {
            headers.add(name: "Cache-Control", value: "max-age=0, no-cache, no-store")
            headers.add(name: "Pragma", value: "no-cache")
        }
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        for (name, value) in decision.setCookies {
            headers.add(
                name: "Set-Cookie",
                value: name == "JSESSIONID" ? "\(name)=\(value); Path=/; HttpOnly" : "\(name)=\(value); Path=/")
        }
        var bytes = response.body
        let rendered = core.stats.elapsed()
        if response.compressible && decision.route != nil {
            headers.add(name: "Vary", value: "Accept-Encoding")
            if acceptsGzip, let compressed = Gzip.compress(bytes) {
                bytes = compressed
                headers.add(name: "Content-Encoding", value: "gzip")
            }
        }
        let timing = (
            render: rendered - started, total: core.stats.elapsed() - started,
            cpu: Self.threadCPUSeconds() - cpuStarted
        )
        // KRX streams portal answers chunked; everything else carries a Content-Length.
        let chunked = decision.route?.hasPrefix("portal/") == true && response.status == .ok
            && response.contentType == SimResponse.html && head.version == .http1_1
        if chunked {
            headers.add(name: "Transfer-Encoding", value: "chunked")
        } else {
            headers.add(name: "Content-Length", value: "\(bytes.count)")
        }
        if !keepAlive || truncate { headers.add(name: "Connection", value: "close") }
        if truncate { bytes = Array(bytes[0..<(bytes.count / 2)]) }
        let status = response.status
        let send: (ChannelHandlerContext) -> Void = { context in
            let responseHead = HTTPResponseHead(version: head.version, status: status, headers: headers)
            context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
            let piece = chunked ? 32_768 : max(1, bytes.count)
            var offset = 0
            repeat {
                let end = min(bytes.count, offset + piece)
                var buffer = context.channel.allocator.buffer(capacity: end - offset)
                buffer.writeBytes(bytes[offset..<end])
                context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                offset = end
            } while offset < bytes.count
            if truncate {
                context.flush()
                context.close(promise: nil)
                return
            }
            let done = context.writeAndFlush(self.wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
                done.whenComplete { _ in boundContext.value.close(promise: nil) }
            }
        }
        log(head, path, decision.route, status: Int(status.code), bytes: bytes.count, timing: timing)
        if decision.latencyMilliseconds > 0 {
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(decision.latencyMilliseconds))) {
                send(boundContext.value)
            }
        } else {
            send(context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// One line per request; `ms` is the wall time to produce the answer (render + compression), `render_ms` the
    /// part spent computing the body, `cpu_ms` the CPU time of both. Never logs query strings or bodies (they carry keys and passwords).
    private func log(
        _ head: HTTPRequestHead, _ path: String, _ route: String?, status: Int, bytes: Int,
        timing: (render: Double, total: Double, cpu: Double)
    ) {
        guard let log = core.configuration.log else { return }
        func ms(_ seconds: Double) -> String {
            let tenths = Int((seconds * 10_000).rounded())
            return "\(tenths / 10).\(tenths % 10)"
        }
        log(
            "\(head.method.rawValue) \(path) route=\(route ?? "control") status=\(status) bytes=\(bytes) "
                + "ms=\(ms(timing.total)) render_ms=\(ms(timing.render)) cpu_ms=\(ms(timing.cpu))")
    }

    /// CPU time of the calling thread: unlike wall time it does not grow when other processes load the machine.
    static func threadCPUSeconds() -> Double {
        var spec = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec) == 0 else { return 0 }
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func split(_ uri: String) -> (String, [String: String]) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for (key, value) in FormDecoding.decode(String(uri[uri.index(after: mark)...])) { query[key] = value }
        return (String(uri[..<mark]), query)
    }
}
