import GalaxyCore
import GalaxyRPC
import GalaxyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The peer checks need a client running as another uid. The tests run as root, so each case runs a small client
/// (`/usr/bin/python3`) under `setpriv` as `nobody` (65534), with chosen supplementary groups.
@Suite("Authorisation by SO_PEERCRED")
struct AuthorisationTests {
    static let nobody: UInt32 = 65534
    static let adminGroup: UInt32 = 4242

    @Test("a peer that is neither root, the daemon's uid nor in the admin group is denied mutating methods only")
    func unprivilegedPeerDenied() async throws {
        try #require(geteuid() == 0, "this test needs root to run a client as another uid")
        try await withServer(
            authorisation: RPCAuthorisationPolicy(daemonUID: 4321, adminGroupID: Self.adminGroup), mode: 0o666
        ) { _, path in
            let (mutate, whoami) = try await Self.callAsNobody(path: path, groups: [])
            #expect(mutate["error"]?["code"] == .integer(-32003))
            #expect(mutate["error"]?["message"] == "permission denied")
            #expect(mutate["id"] == 1)
            #expect(whoami["result"]?["uid"] == .integer(Int64(Self.nobody)))
            #expect(whoami["result"]?["mayMutate"] == false)
            #expect(whoami["result"]?["pid"] != .integer(Int64(getpid())))
        }
    }

    @Test("membership of the admin group as a supplementary group allows mutating methods")
    func adminGroupMemberAllowed() async throws {
        try #require(geteuid() == 0, "this test needs root to run a client as another uid")
        try await withServer(
            authorisation: RPCAuthorisationPolicy(daemonUID: 4321, adminGroupID: Self.adminGroup), mode: 0o666
        ) { _, path in
            let (mutate, whoami) = try await Self.callAsNobody(path: path, groups: [1234, Self.adminGroup])
            #expect(mutate["result"] == "done")
            #expect(whoami["result"]?["uid"] == .integer(Int64(Self.nobody)))
            #expect(whoami["result"]?["mayMutate"] == true)
        }
    }

    @Test("the daemon's own uid may mutate")
    func daemonUIDAllowed() async throws {
        try #require(geteuid() == 0, "this test needs root to run a client as another uid")
        try await withServer(
            authorisation: RPCAuthorisationPolicy(daemonUID: Self.nobody, adminGroupID: nil), mode: 0o666
        ) { _, path in
            let (mutate, _) = try await Self.callAsNobody(path: path, groups: [])
            #expect(mutate["result"] == "done")
        }
    }

    @Test("root may mutate; the handler sees the peer's pid and uid")
    func rootAllowed() async throws {
        try await withServer(authorisation: RPCAuthorisationPolicy(daemonUID: 4321, adminGroupID: nil)) { _, path in
            let client = RPCClient(socketPath: path)
            let me = try await client.call(method: "whoami")
            #expect(me["uid"] == .integer(Int64(geteuid())))
            #expect(me["pid"] == .integer(Int64(getpid())))
            #expect(me["mayMutate"] == .bool(geteuid() == 0))
            if geteuid() == 0 {
                let answer = try await client.call(method: "mutate")
                #expect(answer == "done")
            }
        }
    }

    @Test("the admin group name resolves through NSS")
    func groupLookup() {
        #expect(RPCAuthorisationPolicy.groupID(named: "root") == 0)
        #expect(RPCAuthorisationPolicy.groupID(named: "no-such-group-galaxy") == nil)
        let policy = RPCAuthorisationPolicy(daemonUID: 10, adminGroupName: "no-such-group-galaxy")
        #expect(policy.adminGroupID == nil)
        #expect(!policy.mayMutate(PeerCredentials(pid: 1, uid: 11, gid: 11)))
        #expect(policy.mayMutate(PeerCredentials(pid: 1, uid: 10, gid: 11)))
        #expect(policy.mayMutate(PeerCredentials(pid: 1, uid: 0, gid: 0)))
        #expect(!policy.mayMutate(nil))
        let withGroup = RPCAuthorisationPolicy(daemonUID: 10, adminGroupID: 50)
        #expect(withGroup.mayMutate(PeerCredentials(pid: 1, uid: 11, gid: 50)))
        #expect(withGroup.mayMutate(PeerCredentials(pid: 1, uid: 11, gid: 11, supplementaryGroups: [3, 50])))
    }

    static let clientScript = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        s.sendall(b'{"jsonrpc":"2.0","method":"mutate","id":1}\\n{"jsonrpc":"2.0","method":"whoami","id":2}\\n')
        data = b''
        while data.count(b'\\n') < 2:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        sys.stdout.write(data.decode())
        """

    /// Calls `mutate` and `whoami` as nobody with `groups`; returns both answers.
    static func callAsNobody(path: String, groups: [UInt32]) async throws -> (JSONValue, JSONValue) {
        let groupArgument =
            groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        let (status, output) = try await runProcess([
            "/usr/bin/setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", groupArgument,
            "/usr/bin/python3", "-c", clientScript, path,
        ])
        try #require(status == 0, "client failed (status \(status)): \(output)")
        let lines = output.split(separator: "\n")
        try #require(lines.count == 2, "unexpected client output: \(output)")
        return (try JSONValue(parsing: String(lines[0])), try JSONValue(parsing: String(lines[1])))
    }
}
