#if canImport(Glibc)
import Glibc
#endif

/// Why a notify socket could not be used.
public struct NotifySocketError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }

    static func system(_ what: String, errno code: Int32 = errno) -> NotifySocketError {
        NotifySocketError("\(what): \(String(cString: strerror(code)))")
    }
}

/// An `AF_UNIX` datagram address as `NOTIFY_SOCKET` spells it: `/path`, or `@name` for the abstract namespace.
///
/// An abstract name is passed with the exact length (no trailing NUL); `sizeof(sockaddr_un)` would make the kernel
/// treat the padding NULs as part of the name and the send fail with `ECONNREFUSED`.
public struct NotifySocketAddress: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    let pathBytes: [UInt8]

    /// Parses `text`; nil for anything other than `/…` or `@…` (e.g. `vsock:` addresses, unused by galaxy).
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@") else { return nil }
        guard bytes.count < 108, bytes.count > 1 else { return nil }
        self.text = text
        if first == UInt8(ascii: "@") {
            pathBytes = [0] + bytes.dropFirst()
        } else {
            pathBytes = bytes + [0]
        }
    }

    public var isAbstract: Bool { pathBytes.first == 0 }

    public var description: String { text }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: pathBytes) }
        // Path: family + path + NUL. Abstract: family + NUL + name, nothing more.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
        return try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }
}
