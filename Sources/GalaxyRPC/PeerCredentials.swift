#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Who is on the other end of a control-socket connection, as the kernel reports it (`SO_PEERCRED`).
///
/// The credentials are those in effect when the peer called `connect(2)`; they cannot be forged by the client,
/// which is why authorisation is based on them and not on anything the client sends.
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups (`SO_PEERGROUPS`, or `/proc/<pid>/status` on kernels without it).
    public var supplementaryGroups: [UInt32]

    public init(pid: Int32, uid: UInt32, gid: UInt32, supplementaryGroups: [UInt32] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.supplementaryGroups = supplementaryGroups
    }

    public var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }

    /// Whether the peer is a member of `group`, as primary or supplementary group.
    public func isMember(of group: UInt32) -> Bool { gid == group || supplementaryGroups.contains(group) }

    /// Reads the credentials of a connected Unix socket channel; must be called on the channel's event loop
    /// (as in a child channel initializer), where the option calls complete synchronously.
    static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } — a tuple has C layout.
        let ucredFuture: EventLoopFuture<(Int32, UInt32, UInt32)> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return ucredFuture.flatMap { cred -> EventLoopFuture<PeerCredentials?> in
            let groupsFuture: EventLoopFuture<PeerGroupsBuffer> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(peerGroupsOption))
            return groupsFuture.map { buffer -> PeerCredentials? in
                PeerCredentials(pid: cred.0, uid: cred.1, gid: cred.2, supplementaryGroups: buffer.groups)
            }.flatMapErrorThrowing { _ -> PeerCredentials? in
                // ENOPROTOOPT (kernel < 4.13) or ERANGE (more groups than the buffer holds): ask procfs instead.
                PeerCredentials(
                    pid: cred.0, uid: cred.1, gid: cred.2,
                    supplementaryGroups: Self.procGroups(pid: cred.0) ?? [])
            }
        }.flatMapErrorThrowing { _ in nil }
    }

    /// The `Groups:` line of `/proc/<pid>/status`.
    static func procGroups(pid: Int32) -> [UInt32]? {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            if text.hasPrefix("Groups:") {
                return text.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
                    .compactMap { UInt32($0) }
            }
        }
        return nil
    }
}

/// `SO_PEERGROUPS` (Linux ≥ 4.13); not exported by Glibc's module.
private let peerGroupsOption: Int32 = 59

/// A fixed buffer for `SO_PEERGROUPS`. The kernel fills the first n entries, in ascending order; the rest stay zero.
/// NIO does not report the returned length, so gid 0 cannot be told apart from padding and is dropped — harmless,
/// because membership of the root group grants nothing here unless it is the peer's primary group (`ucred.gid`).
private struct PeerGroupsBuffer: Sendable {
    var storage: InlineArray<256, UInt32>

    var groups: [UInt32] {
        var result: [UInt32] = []
        for index in storage.indices where storage[index] != 0 { result.append(storage[index]) }
        return result
    }
}

/// Who may call mutating methods: uid 0, the daemon's own uid, and members of the admin group.
public struct RPCAuthorisationPolicy: Sendable, Hashable {
    public var daemonUID: UInt32
    /// The admin group's gid, or nil when the configured group does not exist (then only uid 0 and the daemon's uid
    /// may mutate).
    public var adminGroupID: UInt32?

    public init(daemonUID: UInt32 = geteuid(), adminGroupID: UInt32?) {
        self.daemonUID = daemonUID
        self.adminGroupID = adminGroupID
    }

    /// Resolves `adminGroupName` (`GALAXY_ADMIN_GROUP`) with `getgrnam_r`.
    public init(daemonUID: UInt32 = geteuid(), adminGroupName: String) {
        self.init(daemonUID: daemonUID, adminGroupID: Self.groupID(named: adminGroupName))
    }

    public func mayMutate(_ peer: PeerCredentials?) -> Bool {
        guard let peer else { return false }
        if peer.uid == 0 || peer.uid == daemonUID { return true }
        if let adminGroupID, peer.isMember(of: adminGroupID) { return true }
        return false
    }

    /// The gid of the group called `name`, or nil when there is none.
    public static func groupID(named name: String) -> UInt32? {
        var group = group()
        var result: UnsafeMutablePointer<group>? = nil
        var bufferSize = 4096
        while bufferSize <= 1 << 20 {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bufferSize)
            defer { buffer.deallocate() }
            let rc = getgrnam_r(name, &group, buffer, bufferSize, &result)
            if rc == ERANGE {
                bufferSize *= 4
                continue
            }
            guard rc == 0, result != nil else { return nil }
            return group.gr_gid
        }
        return nil
    }
}
