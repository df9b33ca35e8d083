import GalaxyCore
import GalaxyRPC

#if canImport(Glibc)
import Glibc
#endif

/// galaxyctl's side of the control socket: `RPCClient` plus the translation of every way a call can fail into a
/// `CtlFailure` that tells the operator what to do.
struct ControlClient: Sendable {
    let socketPath: String
    private let rpc: RPCClient

    init(socketPath: String, timeout: Duration = .seconds(30)) {
        self.socketPath = socketPath
        rpc = RPCClient(socketPath: socketPath, timeout: timeout)
    }

    /// The socket to use: `--socket`, else `GALAXY_SOCKET`, else the systemd default.
    static func resolveSocketPath(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let variable = environment["GALAXY_SOCKET"], !variable.isEmpty { return variable }
        return GalaxyConfiguration.defaultSocketPath
    }

    /// Calls `method` and returns its raw result.
    func call(_ method: String, _ params: [String: JSONValue] = [:]) async throws(CtlFailure) -> JSONValue {
        do {
            return try await rpc.call(method: method, params: .object(params))
        } catch let error as JSONRPCError {
            throw Self.failure(for: error, method: method)
        } catch let error as RPCClientError {
            throw reachFailure(error)
        } catch {
            throw CtlFailure("cannot call \(method) on \(socketPath): \(error)", exitCode: CtlExitCode.unreachable)
        }
    }

    /// Calls `method` and decodes its result.
    func call<Result: Decodable>(
        _ method: String, _ params: [String: JSONValue] = [:], as type: Result.Type
    ) async throws(CtlFailure) -> (raw: JSONValue, value: Result) {
        let raw = try await call(method, params)
        do {
            return (raw, try raw.decode(as: Result.self))
        } catch {
            throw CtlFailure(
                "galaxyd's answer to \(method) has an unexpected shape (is galaxyctl older than galaxyd?): \(error)",
                exitCode: CtlExitCode.daemonError)
        }
    }

    /// The operator's message for an error answer of the daemon.
    static func failure(for error: JSONRPCError, method: String) -> CtlFailure {
        switch error.code {
        case JSONRPCError.Code.permissionDenied:
            return CtlFailure(
                "permission denied: starting or cancelling work needs root, the galaxy user, or membership in "
                    + "GALAXY_ADMIN_GROUP (default galaxy-admin): `sudo usermod -aG galaxy-admin $USER`",
                exitCode: CtlExitCode.permissionDenied)
        case -32007:
            return CtlFailure(
                "this galaxyd is a standby (another galaxyd holds the scheduler lock and runs jobs): run `\(method)` "
                    + "against the leader; `galaxyctl status` works here",
                exitCode: CtlExitCode.daemonError)
        case JSONRPCError.Code.invalidParams:
            return CtlFailure("galaxyd rejected the request: \(error.message)", exitCode: CtlExitCode.usage)
        case JSONRPCError.Code.shuttingDown:
            return CtlFailure(
                "galaxyd is shutting down and accepts no new work; try again once it is back",
                exitCode: CtlExitCode.daemonError)
        case JSONRPCError.Code.tooManyConnections:
            return CtlFailure(
                "galaxyd refused the connection: too many connections; try again in a moment",
                exitCode: CtlExitCode.daemonError)
        case JSONRPCError.Code.notFound, -32006:
            return CtlFailure(error.message, exitCode: CtlExitCode.daemonError)
        default:
            var text = "galaxyd answered \(method) with error \(error.code): \(error.message)"
            if let data = error.data { text += " (\(data.jsonText))" }
            return CtlFailure(text, exitCode: CtlExitCode.daemonError)
        }
    }

    /// Why the daemon could not be reached, found by asking the kernel directly (the RPC client's error is text).
    private func reachFailure(_ error: RPCClientError) -> CtlFailure {
        switch SocketProbe.connect(socketPath) {
        case ENOENT, ENOTDIR:
            return CtlFailure(
                "galaxyd is not running (no socket at \(socketPath)): start it with `systemctl start galaxyd.socket`, "
                    + "or run galaxyd in dev mode, or point --socket/GALAXY_SOCKET at it",
                exitCode: CtlExitCode.unreachable)
        case ECONNREFUSED:
            return CtlFailure(
                "galaxyd is not running (nothing listens on \(socketPath)): start it with "
                    + "`systemctl start galaxyd.socket`, or run galaxyd in dev mode, or point --socket/GALAXY_SOCKET at it",
                exitCode: CtlExitCode.unreachable)
        case EACCES, EPERM:
            let group = SocketProbe.groupName(of: socketPath) ?? "galaxy-ctl"
            return CtlFailure(
                "cannot connect to \(socketPath): permission denied; join the group that owns the socket (\(group)): "
                    + "`sudo usermod -aG \(group) $USER` (then log in again)",
                exitCode: CtlExitCode.permissionDenied)
        default:
            return CtlFailure("cannot reach galaxyd at \(socketPath): \(error)", exitCode: CtlExitCode.unreachable)
        }
    }
}

/// A plain `connect(2)` to learn the errno behind a failed connection.
enum SocketProbe {
    /// 0 when a connection could be made, else the errno of `connect`.
    static func connect(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return ENAMETOOLONG }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 ? 0 : errno
    }

    /// The group owning the socket file, when it is not root's (joining root's group is not the advice to give).
    static func groupName(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_gid != 0, let group = getgrgid(info.st_gid) else { return nil }
        return String(cString: group.pointee.gr_name)
    }
}
