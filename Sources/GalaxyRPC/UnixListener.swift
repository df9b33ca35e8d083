#if canImport(Glibc)
import Glibc
#endif

/// Where the control server listens.
public enum RPCListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// Bind this path (dev mode, no socket activation) with `mode` (0660: the owner and the socket's group may
    /// connect). A leftover socket file is replaced only if nothing is listening on it.
    case path(String, mode: UInt32 = 0o660)
    /// Adopt a socket that is already bound and listening (systemd socket activation hands over fd 3).
    /// The server never unlinks its path: systemd owns it.
    case adopted(fileDescriptor: Int32)

    public var description: String {
        switch self {
        case .path(let path, let mode): return "\(path) (mode \(String(mode, radix: 8)))"
        case .adopted(let fd): return "inherited fd \(fd)"
        }
    }
}

/// Why the control socket could not be set up.
public struct RPCListenError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }

    static func system(_ what: String, path: String, errno code: Int32 = errno) -> RPCListenError {
        RPCListenError("\(what) \(path): \(String(cString: strerror(code)))")
    }
}

/// Creates the listening socket for `.path` mode ourselves rather than via NIO's `bind(unixDomainSocketPath:)`, so
/// the permissions are final before the first client can connect (bind, chmod, then listen) and a live socket of
/// another daemon is never unlinked.
enum UnixListener {
    static func bindAndListen(path: String, mode: UInt32, backlog: Int32) throws(RPCListenError) -> Int32 {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw RPCListenError("socket path \(path) is longer than 107 bytes")
        }
        try removeStaleSocket(at: path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RPCListenError.system("cannot create a socket for", path: path) }
        do throws(RPCListenError) {
            try withAddress(path) { address, length throws(RPCListenError) in
                guard bind(fd, address, length) == 0 else { throw RPCListenError.system("cannot bind", path: path) }
            }
            guard chmod(path, mode_t(mode)) == 0 else {
                let code = errno
                unlink(path)
                throw RPCListenError.system("cannot chmod", path: path, errno: code)
            }
            guard listen(fd, backlog) == 0 else {
                let code = errno
                unlink(path)
                throw RPCListenError.system("cannot listen on", path: path, errno: code)
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Unlinks `path` if it is a socket nobody listens on; refuses if a server answers there or the path is not a
    /// socket.
    static func removeStaleSocket(at path: String) throws(RPCListenError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw RPCListenError("\(path) exists and is not a socket; remove it or choose another GALAXY_SOCKET")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw RPCListenError.system("cannot create a socket for", path: path) }
        defer { close(probe) }
        let connected = try withAddress(path) { address, length throws(RPCListenError) in
            connect(probe, address, length) == 0
        }
        if connected {
            throw RPCListenError("another server is listening on \(path); stop it or choose another GALAXY_SOCKET")
        }
        if errno == ECONNREFUSED || errno == ENOENT {
            unlink(path)
        } else {
            throw RPCListenError.system("cannot probe the existing socket", path: path)
        }
    }

    static func withAddress<R>(
        _ path: String,
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(RPCListenError) -> R
    ) throws(RPCListenError) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return try withUnsafePointer(to: &address) { pointer throws(RPCListenError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(RPCListenError) in
                try body(sa, length)
            }
        }
    }
}
