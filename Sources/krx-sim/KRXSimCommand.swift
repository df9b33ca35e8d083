import ArgumentParser
import Dispatch
import Foundation
import KRXSimulator

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct KRXSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "krx-sim",
        abstract: "A wire-compatible KRX simulator: data portal + Open API with deterministic data and faults.",
        discussion: """
            Prints its base URL (http://HOST:PORT) as the first line on stdout,
            logs one line per request to stderr (never passwords or keys) and
            exits 0 on SIGTERM/SIGINT.

            Routes [route name, used by --fault and the stats]:
              POST /comm/bldAttendant/getJsonData.cmd         [portal/<screen>]
                   bld=dbms/MDC/STAT/standard/MDCSTAT01501|01901|03501|03901|
                   04301|04601|00301|01701|03502|04501|06701 (ETN master)|
                   08501 (ELW master)|00401 (index master)|00101 (indices
                   on a date),
                   dbms/comm/finder/finder_stkisu|finder_listdelisu
              GET  /comm/bldAttendant/executeForResourceBundle.cmd
                   ?key=B128.bld                         [portal/resourceBundle]
              GET  /contents/MDC/COMS/client/MDCCOMS001.cmd  [login/MDCCOMS001]
              GET  /contents/MDC/COMS/client/view/login.jsp  [login/login.jsp]
              POST /contents/MDC/COMS/client/MDCCOMS001D1.cmd
                   mbrId, pw, skipDup=Y             [login/MDCCOMS001D1]
              POST /contents/MDC/COMS/client/MDCCOMS001D2.cmd (logout)
              GET  /contents/COM/GenerateOTP.jspx             [holidays/otp]
              POST /contents/OPN/99/OPN99000001.jspx  [holidays/OPN99000001]
                   search_bas_yy=YYYY&code=<OTP>
              GET  /svc/apis/sto/{stk,ksq,knx}_bydd_trd?basDd=YYYYMMDD
              GET  /svc/apis/sto/{stk,ksq,knx}_isu_base_info?basDd=…
              GET  /svc/apis/etp/etf_bydd_trd?basDd=…        [openapi/<api>]
                   header AUTH_KEY (or query AUTH_KEY, or Bearer)
                   weekday holidays: one "" row per listed issue (only the
                   identity fields filled); Sundays, today and later: [];
                   Saturdays: [] (or "" rows with --openapi-saturday-rows)

            Control endpoints (never counted in the stats, never faulted):
              GET    /_sim/health         {"ok":true,"seed":N,"today":"…"}
              GET    /_sim/stats          {"total":N,"routes":{ROUTE:{"count":n,
                                          "timestamps":[s,…]}},"requests":[…]}
                                          (seconds since start, monotonic)
              POST   /_sim/stats/reset    forget recorded requests
              GET    /_sim/faults         {"faults":["ROUTE=KIND@TRIGGER",…]}
              POST   /_sim/faults         add rules, one object or an array:
                                          {"route":"portal/MDCSTAT01501",
                                           "fault":"error:503","next":2}
                                          ("probability":0.3 instead of next;
                                          neither = always), or
                                          {"spec":"portal=logout@next=1"}
              DELETE /_sim/faults         remove every rule
                                          (also POST /_sim/faults/clear)
              POST   /_sim/sessions/expire  end every member session
              POST   /_sim/quota/reset    reset the Open API daily counters

            Fault syntax (--fault, repeatable):
              ROUTE=KIND[:PARAM][@next=N|@p=P]
              ROUTE: a route name, a prefix (portal, openapi, login, holidays)
                     or * for all
              KIND:  latency:MS, hang, error[:5xx], truncate, malformed,
                     block[:403|200], unavailable, logout, ratelimit[:SECONDS]
              e.g.   --fault 'portal=block:200@next=1'
                     --fault '*=latency:300@p=0.2'
            """)

    @Option(help: "Port to listen on; 0 picks a free port.")
    var port: Int = 0

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Seed of the synthetic market (same seed and request → same body).")
    var seed: UInt64 = 1

    @Flag(help: "Portal data calls need a member session (HTTP 400 LOGOUT otherwise), as KRX since 2026-02.")
    var requireLogin = false

    @Option(name: .customLong("account"), help: "Member account ID:PASSWORD (repeatable; default demo:demo-password).")
    var accounts: [String] = []

    @Option(
        name: .customLong("password-change-required"),
        help: "Account ID whose login answers CD010 (password change required); repeatable.")
    var passwordChangeRequired: [String] = []

    @Option(name: .customLong("auth-key"), help: "Accepted Open API AUTH_KEY (repeatable; default demo-auth-key).")
    var authKeys: [String] = []

    @Option(help: "Open API calls per key per day.")
    var quota: Int = 10_000

    @Option(help: "Member session lifetime in seconds.")
    var sessionLifetime: Int = 3600

    @Option(help: "The simulator's today (YYYY-MM-DD, Asia/Seoul); fixes the clock at 18:30 KST. Default: real date.")
    var today: String?

    @Option(name: .customLong("fault"), help: "Fault rule ROUTE=KIND[:PARAM][@next=N|@p=P] (repeatable).")
    var faults: [String] = []

    @Option(help: "Listed shares at the end of 2026 (KRX: about 2,900); the calibrated history scales with it.")
    var stocks: Int = 2_900

    @Option(help: "Listed ETFs at the end of 2026 (KRX: about 1,100); ETNs scale with it.")
    var etfs: Int = 1_100

    @Flag(help: "Open API: answer Saturdays with \"\" rows like weekday holidays (default: an empty list).")
    var openapiSaturdayRows = false

    @Flag(help: "Do not log requests to stderr.")
    var quiet = false

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be within 0…65535") }
        for account in accounts where !account.contains(":") {
            throw ValidationError("--account must be ID:PASSWORD (the value given has no ':')")
        }
        if let today, SimDate(today) == nil { throw ValidationError("--today must be a date YYYY-MM-DD, got '\(today)'") }
        guard quota >= 0 else { throw ValidationError("--quota must be ≥ 0") }
        guard sessionLifetime > 0 else { throw ValidationError("--session-lifetime must be > 0 seconds") }
    }

    func run() async throws {
        var rules: [FaultRule] = []
        for spec in faults {
            do {
                rules.append(try FaultRule(spec: spec))
            } catch {
                throw ValidationError(error.description)
            }
        }
        var memberAccounts = accounts.map { text -> SimulatorAccount in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            return SimulatorAccount(id: parts[0], password: parts.count > 1 ? parts[1] : "")
        }
        if memberAccounts.isEmpty { memberAccounts = [SimulatorAccount(id: "demo", password: "demo-password")] }
        for id in passwordChangeRequired {
            if let index = memberAccounts.firstIndex(where: { $0.id == id }) {
                memberAccounts[index].passwordChangeRequired = true
            } else {
                throw ValidationError("--password-change-required \(id): no such --account")
            }
        }
        var configuration = SimulatorConfiguration(
            seed: seed, host: host, port: port, requireLogin: requireLogin, accounts: memberAccounts,
            dailyQuota: quota, sessionLifetime: .seconds(sessionLifetime), faults: rules, stockCount: stocks,
            etfCount: etfs)
        if !authKeys.isEmpty { configuration.authKeys = authKeys.map { OpenAPIKey($0) } }
        configuration.openAPISaturdayRows = openapiSaturdayRows
        if let fixed = today.flatMap({ SimDate($0) }) { configuration.clock = .fixed(fixed) }
        if !quiet {
            configuration.log = { line in StandardError.write("krx-sim: " + line + "\n") }
        }
        let simulator: KRXSimulator
        do {
            simulator = try await KRXSimulator.start(configuration)
        } catch {
            StandardError.write("krx-sim: \(error)\n")
            throw ExitCode(1)
        }
        StandardOutput.write(simulator.baseURL + "\n")
        StandardError.write(
            "krx-sim: serving seed \(seed), today \(configuration.clock.today.iso), "
                + "login \(requireLogin ? "required" : "optional"), \(rules.count) fault rule(s)\n")
        let signal = await SignalWaiter.wait(for: [SIGTERM, SIGINT])
        StandardError.write("krx-sim: signal \(signal), shutting down\n")
        try await simulator.shutdown()
    }
}

/// Unbuffered writes straight to the file descriptors: the base URL must reach a parent process at once.
enum StandardOutput {
    static func write(_ text: String) { FileDescriptorWriter.write(text, to: 1) }
}

enum StandardError {
    static func write(_ text: String) { FileDescriptorWriter.write(text, to: 2) }
}

enum FileDescriptorWriter {
    static func write(_ text: String, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Waits for the first of the given signals: the default actions are ignored and Dispatch delivers the signal
/// on its own queue, so the simulator can close its sockets and exit 0.
enum SignalWaiter {
    static func wait(for signals: [Int32]) async -> Int32 {
        for s in signals { signal(s, SIG_IGN) }
        let box = SignalBox()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            box.arm(continuation: continuation, signals: signals)
        }
    }

    final class SignalBox: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Int32, Never>?
        private var sources: [any DispatchSourceSignal] = []

        func arm(continuation: CheckedContinuation<Int32, Never>, signals: [Int32]) {
            lock.lock()
            self.continuation = continuation
            lock.unlock()
            for s in signals {
                let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
                source.setEventHandler { [self] in fire(s) }
                source.resume()
                lock.lock()
                sources.append(source)
                lock.unlock()
            }
        }

        private func fire(_ signal: Int32) {
            lock.lock()
            let continuation = self.continuation
            self.continuation = nil
            lock.unlock()
            continuation?.resume(returning: signal)
        }
    }
}

