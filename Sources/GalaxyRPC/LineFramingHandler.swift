import Logging
import NIOCore

/// A line longer than the configured maximum arrived; the server answers -32001 once and closes the connection.
public struct RPCLineTooLongError: Error, Sendable, CustomStringConvertible {
    public let limit: Int
    public var description: String { "request line longer than \(limit) bytes" }
}

/// Newline-delimited JSON framing plus the per-connection timers that keep a stuck client from holding a slot.
///
/// Inbound it splits the byte stream on `\n` (a trailing `\r` is dropped, blank lines are skipped) and forwards each
/// line; a line, or an unterminated tail, longer than `maxLineBytes` raises `RPCLineTooLongError` and everything
/// after it is ignored. Outbound it expects exactly one write per forwarded line (an empty buffer when the line asked
/// for no answer, e.g. a notification), so it knows whether the connection owes a response.
///
/// Until `attach()` is called (when the connection's task has wrapped the channel), lines, a line-too-long error and
/// the peer's end of input are held, so nothing is lost even if the client sent everything and half-closed before
/// the server got round to it.
///
/// It closes the connection when
/// - no request is outstanding, no partial line is buffered and nothing happened for `idleTimeout` (counted from
///   when the server started serving the connection, `attach()`);
/// - a started line has not been finished within `lineTimeout` while the server owed nothing and so was waiting for
///   it (a slowloris client; while requests are outstanding the server itself may have stopped reading);
/// - the peer has not read its responses for `writeTimeout` (the channel stayed unwritable).
final class LineFramingHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let maxLineBytes: Int
    private let idleTimeout: TimeAmount
    private let writeTimeout: TimeAmount
    private let lineTimeout: TimeAmount
    private let logger: Logger

    private var buffer: ByteBuffer? = nil
    private var pendingResponses = 0
    private var overLimit = false
    private var inputClosed = false
    private var lastActivity = NIODeadline.now()
    private var partialLineSince: NIODeadline? = nil
    private var unwritableSince: NIODeadline? = nil
    private var timer: Scheduled<Void>? = nil
    private var context: ChannelHandlerContext? = nil
    private var attached = false
    private var heldLines: [ByteBuffer] = []
    private var heldError: (any Error)? = nil
    private var heldInputClosed = false

    init(
        maxLineBytes: Int, idleTimeout: TimeAmount, lineTimeout: TimeAmount, writeTimeout: TimeAmount,
        logger: Logger
    ) {
        self.writeTimeout = writeTimeout
        self.maxLineBytes = maxLineBytes
        self.idleTimeout = idleTimeout
        self.lineTimeout = lineTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        lastActivity = .now()
        armTimer(context: context, at: lastActivity + idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    /// Starts passing lines on (call on the event loop once the handler that consumes them is in the pipeline).
    func attach() {
        guard !attached, let context else { return }
        attached = true
        lastActivity = .now()
        if partialLineSince != nil { partialLineSince = lastActivity }
        rearm(context: context)
        let lines = heldLines
        heldLines = []
        for line in lines { context.fireChannelRead(wrapInboundOut(line)) }
        if !lines.isEmpty { context.fireChannelReadComplete() }
        if let heldError {
            self.heldError = nil
            context.fireErrorCaught(heldError)
        }
        if heldInputClosed {
            heldInputClosed = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if attached { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        guard !overLimit, !inputClosed else { return }
        let now = NIODeadline.now()
        lastActivity = now
        if buffer == nil {
            buffer = incoming
        } else {
            buffer!.writeBuffer(&incoming)
        }
        var forwardedAny = false
        while let newline = buffer!.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer!.readerIndex
            var line = buffer!.readSlice(length: length)!
            buffer!.moveReaderIndex(forwardBy: 1)
            if line.readableBytes > maxLineBytes {
                failOverLimit(context: context)
                return
            }
            if line.readableBytesView.last == UInt8(ascii: "\r") {
                line.moveWriterIndex(to: line.writerIndex - 1)
            }
            forwardedAny = true
            if line.readableBytesView.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                continue
            }
            pendingResponses += 1
            if attached {
                context.fireChannelRead(wrapInboundOut(line))
            } else {
                heldLines.append(line)
            }
        }
        if buffer!.readableBytes > maxLineBytes {
            failOverLimit(context: context)
            return
        }
        if buffer!.readableBytes == 0 {
            buffer = nil
            partialLineSince = nil
        } else {
            if forwardedAny || partialLineSince == nil { partialLineSince = now }
            if buffer!.readerIndex > 64 * 1024 { buffer!.discardReadBytes() }
        }
        rearm(context: context)
    }

    private func failOverLimit(context: ChannelHandlerContext) {
        overLimit = true
        buffer = nil
        partialLineSince = nil
        pendingResponses += 1
        if attached {
            context.fireErrorCaught(RPCLineTooLongError(limit: maxLineBytes))
        } else {
            heldError = RPCLineTooLongError(limit: maxLineBytes)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            buffer = nil
            partialLineSince = nil
            guard attached else {
                // The peer sent everything and half-closed before the connection was attached: deliver the end
                // after the held lines.
                heldInputClosed = true
                return
            }
            // From here on nobody consumes lines (the server's own drain also ends input this way).
            inputClosed = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Counts an answer that is not sent (a notification, or a batch of them), so the connection no longer owes it.
    func acknowledgeUnansweredLine() {
        answered()
        if let context { rearm(context: context) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let response = unwrapOutboundIn(data)
        answered()
        rearm(context: context)
        if response.readableBytes == 0 {
            promise?.succeed(())
            return
        }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        unwritableSince = context.channel.isWritable ? nil : .now()
        rearm(context: context)
        context.fireChannelWritabilityChanged()
    }

    /// One owed answer was given (or needs none). When the last one is given, a buffered partial line starts its
    /// own clock: until then the server, not the peer, was the one not reading.
    private func answered() {
        pendingResponses = max(0, pendingResponses - 1)
        lastActivity = .now()
        if pendingResponses == 0, partialLineSince != nil { partialLineSince = lastActivity }
    }

    // MARK: timers

    private func rearm(context: ChannelHandlerContext) {
        armTimer(context: context, at: nextDeadline())
    }

    private func nextDeadline() -> NIODeadline {
        var deadline = lastActivity + idleTimeout
        if let partialLineSince, pendingResponses == 0 { deadline = min(deadline, partialLineSince + lineTimeout) }
        if let unwritableSince { deadline = min(deadline, unwritableSince + writeTimeout) }
        return deadline
    }

    private func armTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer?.cancel()
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(deadline: deadline) { [self] in
            self.timer = nil
            self.check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        let now = NIODeadline.now()
        guard attached else {
            // Not served yet: the wait is the server's, not the peer's.
            armTimer(context: context, at: now + idleTimeout)
            return
        }
        var reason: String? = nil
        if let unwritableSince, now >= unwritableSince + writeTimeout {
            reason = "peer stopped reading responses"
        } else if let partialLineSince, pendingResponses == 0, now >= partialLineSince + lineTimeout {
            reason = "request line not finished in time"
        } else if pendingResponses == 0, partialLineSince == nil, now >= lastActivity + idleTimeout {
            reason = "idle"
        }
        if let reason {
            logger.debug("closing control connection", metadata: ["reason": "\(reason)"])
            context.close(promise: nil)
        } else {
            var next = nextDeadline()
            if next <= now { next = now + idleTimeout }
            armTimer(context: context, at: next)
        }
    }
}
