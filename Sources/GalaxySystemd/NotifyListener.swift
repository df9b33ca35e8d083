import FoundationEssentials
import GalaxyCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One sd_notify datagram as a receiver sees it: who sent it and its `KEY=VALUE` assignments.
public struct NotifyMessage: Sendable, Hashable, CustomStringConvertible {
    /// The sender's pid, uid and gid from `SCM_CREDENTIALS` (the kernel fills them in; a sender cannot lie about
    /// them without privileges). nil only if the datagram carried no credentials.
    public var senderPID: Int32?
    public var senderUID: UInt32?
    public var senderGID: UInt32?
    /// The assignments in the order sent.
    public var assignments: [Assignment]

    public struct Assignment: Sendable, Hashable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public init(senderPID: Int32? = nil, senderUID: UInt32? = nil, senderGID: UInt32? = nil, payload: String) {
        self.senderPID = senderPID
        self.senderUID = senderUID
        self.senderGID = senderGID
        self.assignments = payload.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
            guard let equals = line.firstIndex(of: "=") else { return nil }
            return Assignment(key: String(line[..<equals]), value: String(line[line.index(after: equals)...]))
        }
    }

    /// The last value of `key`, if sent.
    public subscript(key: String) -> String? { assignments.last(where: { $0.key == key })?.value }

    public var isReady: Bool { self["READY"] == "1" }
    public var isStopping: Bool { self["STOPPING"] == "1" }
    public var isWatchdog: Bool { self["WATCHDOG"] == "1" }
    public var status: String? { self["STATUS"] }

    public var description: String {
        "from pid \(senderPID.map(String.init) ?? "?"): "
            + assignments.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// The receiving end of the sd_notify protocol: what systemd is to galaxyd, galaxyd is to its children (and the
/// fake systemd of the tests).
///
/// It binds an `AF_UNIX` datagram socket with `SO_PASSCRED` (so every message names its sender's pid) and reads it on
/// a dedicated thread that sleeps in `poll(2)` — no busy loop, and never a blocked thread of the cooperative pool.
/// Messages arrive through `messages`.
public final class NotifyListener: Sendable {
    /// The address to put in a child's `NOTIFY_SOCKET`.
    public let address: NotifySocketAddress
    /// Every datagram received, in arrival order; finishes after `close()`.
    public let messages: AsyncStream<NotifyMessage>
    private let socketFD: Int32
    private let wakeWriteFD: Int32
    private let stopped = Mutex(false)

    /// Binds `address` (`/path` or `@name`) and starts receiving.
    ///
    /// - Throws: `NotifySocketError` when the address is malformed, already in use, or the socket cannot be made.
    public init(address text: String, bufferingNewest limit: Int = 4096) throws(NotifySocketError) {
        guard let address = NotifySocketAddress(text) else {
            throw NotifySocketError("'\(text)' is not an absolute socket path or @abstract name")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("cannot create a datagram socket") }
        var on: Int32 = 1
        var pipeFDs: [Int32] = [-1, -1]
        do throws(NotifySocketError) {
            guard setsockopt(fd, SOL_SOCKET, passCredentialsOption, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
            else { throw .system("cannot enable SO_PASSCRED") }
            let bound = address.withSockaddr { sockaddr, length in bind(fd, sockaddr, length) }
            guard bound == 0 else { throw .system("cannot bind notify socket \(text)") }
            guard pipe(&pipeFDs) == 0 else { throw .system("cannot create a pipe") }
            for pipeFD in pipeFDs { _ = fcntl(pipeFD, F_SETFD, FD_CLOEXEC) }
        } catch {
            Glibc.close(fd)
            throw error
        }
        self.address = address
        self.socketFD = fd
        self.wakeWriteFD = pipeFDs[1]
        let wakeReadFD = pipeFDs[0]
        let (stream, continuation) = AsyncStream.makeStream(
            of: NotifyMessage.self, bufferingPolicy: .bufferingNewest(limit))
        self.messages = stream
        DedicatedThread.start(name: "galaxy-notify") {
            Self.receiveLoop(socketFD: fd, wakeFD: wakeReadFD, continuation: continuation)
            Glibc.close(wakeReadFD)
        }
    }

    deinit {
        close()
    }

    /// Stops receiving, closes the socket and removes its file (path addresses). Idempotent.
    public func close() {
        let wasStopped = stopped.withLock { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        var byte: UInt8 = 1
        _ = write(wakeWriteFD, &byte, 1)
        Glibc.close(wakeWriteFD)
        if !address.isAbstract { unlink(address.text) }
    }

    private static func receiveLoop(
        socketFD: Int32, wakeFD: Int32, continuation: AsyncStream<NotifyMessage>.Continuation
    ) {
        defer {
            continuation.finish()
            Glibc.close(socketFD)
        }
        let payloadCapacity = 4097  // systemd's NOTIFY_BUFFER_MAX (PIPE_BUF) + 1 to detect oversized datagrams
        let controlCapacity = 1024
        let payload = UnsafeMutableRawPointer.allocate(byteCount: payloadCapacity, alignment: 8)
        let control = UnsafeMutableRawPointer.allocate(byteCount: controlCapacity, alignment: 8)
        defer {
            payload.deallocate()
            control.deallocate()
        }
        var pollFDs = [
            pollfd(fd: socketFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            pollFDs[0].revents = 0
            pollFDs[1].revents = 0
            let ready = poll(&pollFDs, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if pollFDs[1].revents != 0 { return }
            guard pollFDs[0].revents != 0 else { continue }
            var iov = iovec(iov_base: payload, iov_len: payloadCapacity)
            var header = msghdr()
            let received = withUnsafeMutablePointer(to: &iov) { iovPointer in
                header.msg_iov = iovPointer
                header.msg_iovlen = 1
                header.msg_control = control
                header.msg_controllen = controlCapacity
                return recvmsg(socketFD, &header, Int32(MSG_DONTWAIT) | cmsgCloexecFlag)
            }
            if received < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return
            }
            let credentials = Self.parseControl(control, length: Int(header.msg_controllen))
            if header.msg_flags & Int32(MSG_TRUNC) != 0 || received >= payloadCapacity { continue }
            let bytes = UnsafeRawBufferPointer(start: payload, count: received)
            let text = String(decoding: bytes, as: UTF8.self)
            continuation.yield(
                NotifyMessage(
                    senderPID: credentials?.pid, senderUID: credentials?.uid, senderGID: credentials?.gid,
                    payload: text))
        }
    }

    /// Walks the control messages: returns `SCM_CREDENTIALS`, closes any descriptors passed with `SCM_RIGHTS`
    /// (galaxy keeps no fd store, and an unclosed fd would leak).
    private static func parseControl(
        _ control: UnsafeMutableRawPointer, length: Int
    ) -> (pid: Int32, uid: UInt32, gid: UInt32)? {
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32)? = nil
        let headerSize = MemoryLayout<cmsghdr>.size
        var offset = 0
        while offset + headerSize <= length {
            let header = control.load(fromByteOffset: offset, as: cmsghdr.self)
            let messageLength = Int(header.cmsg_len)
            guard messageLength >= headerSize, offset + messageLength <= length else { break }
            let dataOffset = offset + align(headerSize)
            let dataLength = messageLength - align(headerSize)
            if header.cmsg_level == SOL_SOCKET, header.cmsg_type == credentialsMessageType, dataLength >= 12 {
                credentials = (
                    control.loadUnaligned(fromByteOffset: dataOffset, as: Int32.self),
                    control.loadUnaligned(fromByteOffset: dataOffset + 4, as: UInt32.self),
                    control.loadUnaligned(fromByteOffset: dataOffset + 8, as: UInt32.self)
                )
            } else if header.cmsg_level == SOL_SOCKET, header.cmsg_type == rightsMessageType {
                var fdOffset = dataOffset
                while fdOffset + 4 <= dataOffset + dataLength {
                    Glibc.close(control.loadUnaligned(fromByteOffset: fdOffset, as: Int32.self))
                    fdOffset += 4
                }
            }
            offset += align(messageLength)
        }
        return credentials
    }

    private static func align(_ n: Int) -> Int { (n + MemoryLayout<Int>.size - 1) & ~(MemoryLayout<Int>.size - 1) }
}

private let passCredentialsOption: Int32 = 16  // SO_PASSCRED
private let credentialsMessageType: Int32 = 2  // SCM_CREDENTIALS
private let rightsMessageType: Int32 = 1  // SCM_RIGHTS
private let cmsgCloexecFlag: Int32 = 0x4000_0000  // MSG_CMSG_CLOEXEC
