import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP/1.1 server on 127.0.0.1 with a scripted answer per request, recording every request it receives (with
/// its arrival time and connection number), for testing the client's transport, login and retry behaviour.
final class TestHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]
        var body: String
        var time: Double
        var connection: Int

        var path: String { String(uri.split(separator: "?", maxSplits: 1).first ?? "") }

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        /// The form fields of a urlencoded body.
        var form: [String: String] {
            var fields: [String: String] = [:]
            for pair in body.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode: (Substring) -> String = {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
            }
            return fields
        }
    }

    struct Response: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// Seconds to wait before answering (a hang when longer than the client's timeout).
        var delay: Double = 0
        /// Send only this many body bytes (with the full Content-Length) and close: a truncated transfer.
        var truncateTo: Int? = nil

        init(status: Int = 200, headers: [(String, String)] = [], body: String, delay: Double = 0) {
            self.status = status
            self.headers = headers
            self.body = Array(body.utf8)
            self.delay = delay
        }

        init(status: Int = 200, headers: [(String, String)] = [], bytes: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = bytes
        }

        static func json(_ text: String) -> Response {
            Response(headers: [("Content-Type", "text/html; charset=utf-8")], body: text)
        }
    }

    typealias Handler = @Sendable (Request) -> Response

    private let group: MultiThreadedEventLoopGroup
    private var channel: (any Channel)?
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var connections = 0
    private let handler: Handler
    private(set) var port = 0

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(handler: @escaping Handler) {
        self.handler = handler
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    static func start(_ handler: @escaping Handler) throws -> TestHTTPServer {
        let server = TestHTTPServer(handler: handler)
        let bootstrap = ServerBootstrap(group: server.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        RecordingHandler(server: server, connection: server.nextConnection()))
                }
            }
        let channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        server.channel = channel
        server.port = channel.localAddress?.port ?? 0
        return server
    }

    func shutdown() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections
    }

    fileprivate func nextConnection() -> Int {
        lock.lock()
        defer { lock.unlock() }
        connections += 1
        return connections
    }

    fileprivate func answer(_ request: Request) -> Response {
        lock.lock()
        recorded.append(request)
        lock.unlock()
        return handler(request)
    }
}

private final class RecordingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: TestHTTPServer
    let connection: Int
    var head: HTTPRequestHead?
    var body: ByteBuffer = ByteBuffer()

    init(server: TestHTTPServer, connection: Int) {
        self.server = server
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            let request = TestHTTPServer.Request(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                body: body.readString(length: body.readableBytes) ?? "",
                time: Double(time.tv_sec) + Double(time.tv_nsec) / 1e9, connection: connection)
            let response = server.answer(request)
            let keepAlive = head.isKeepAlive
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            if response.delay > 0 {
                context.eventLoop.scheduleTask(in: .nanoseconds(Int64(response.delay * 1e9))) {
                    Self.write(response, keepAlive: keepAlive, context: bound.value)
                }
            } else {
                Self.write(response, keepAlive: keepAlive, context: context)
            }
        }
    }

    private static func write(_ response: TestHTTPServer.Response, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
        let truncated = response.truncateTo != nil
        if !keepAlive || truncated { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body.prefix(response.truncateTo ?? response.body.count))
        if truncated {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
            context.close(promise: nil)
            return
        }
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}
