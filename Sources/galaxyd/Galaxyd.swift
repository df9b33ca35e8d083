import ArgumentParser
import FoundationEssentials
import GalaxyCore
import GalaxyPostgres
import GalaxyRPC
import GalaxySupervisor
import GalaxySystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Command-line options shared by galaxyd's commands. Each overrides the environment variable of the same meaning.
struct CommonOptions: ParsableArguments {
    @Option(help: ArgumentHelp("PostgreSQL URL or libpq conninfo (GALAXY_DATABASE_URL).", valueName: "url"))
    var databaseURL: String?
}

struct Galaxyd: AsyncParsableCommand {
    nonisolated(unsafe) static var systemd = SystemdEnvironment()

    static let configuration = CommandConfiguration(
        commandName: "galaxyd",
        abstract: "The galaxy supervisor: collects KRX market data into PostgreSQL on schedule and on request.",
        discussion: """
            galaxyd runs every collector as an isolated child process, fires the daily collection (18:00 Mon–Fri, \
            Asia/Seoul) and the portfolio snapshot (18:30), runs backfills, and answers galaxyctl over a JSON-RPC \
            socket. Under systemd it is Type=notify, socket-activated and watchdog-supervised (see units/).

            Configuration comes from the environment (GALAXY_DATABASE_URL, GALAXY_SOCKET, GALAXY_ADMIN_GROUP, \
            GALAXY_SOURCE, GALAXY_PORTAL_URL, GALAXY_OPENAPI_URL, KRX_ID/KRX_PW/KRX_AUTH_KEY or \
            $CREDENTIALS_DIRECTORY, GALAXY_RATE, GALAXY_TZ, GALAXY_DAILY_CRON, GALAXY_SNAPSHOT_CRON, \
            GALAXY_COLLECTOR, GALAXY_MAX_CHILDREN, GALAXY_ON_FAILURE, GALAXY_METRICS_FILE); flags override it.

            Exit status: 0 after an orderly stop, 78 for bad configuration, 1 when it cannot start.
            """,
        subcommands: [Serve.self, Migrate.self],
        defaultSubcommand: Serve.self)

    static func main(systemd: SystemdEnvironment) async {
        Self.systemd = systemd
        await main()
    }
}

extension Galaxyd {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "Run the daemon (the default).")

        @OptionGroup var common: CommonOptions

        @Option(help: ArgumentHelp("Control socket path when not socket-activated (GALAXY_SOCKET).", valueName: "path"))
        var socket: String?

        @Option(help: ArgumentHelp("The galaxy-collector executable (GALAXY_COLLECTOR; default: beside galaxyd).",
                                   valueName: "path"))
        var collector: String?

        @Option(help: ArgumentHelp("Collectors running at once (GALAXY_MAX_CHILDREN).", valueName: "n"))
        var maxChildren: Int?

        @Option(help: ArgumentHelp(
            "Keep the metrics in this file for node_exporter's textfile collector, rewritten every 10 s "
                + "(GALAXY_METRICS_FILE).", valueName: "path"))
        var metricsFile: String?

        @Option(help: ArgumentHelp(
            "Directory for the collectors' notify socket and shared rate limiter (default: $RUNTIME_DIRECTORY, "
                + "or a private directory under /tmp).", valueName: "path"))
        var runtimeDirectory: String?

        @Option(help: ArgumentHelp("Seconds a collector has to send READY=1.", valueName: "seconds"))
        var readyTimeout: Double = 30

        @Option(help: ArgumentHelp("Seconds a collector may stay silent before it is killed.", valueName: "seconds"))
        var heartbeatTimeout: Double = 60

        @Option(help: ArgumentHelp("Maximum seconds one collector task may run.", valueName: "seconds"))
        var maxRuntime: Double = 6 * 3600

        @Option(help: ArgumentHelp("Seconds between SIGTERM and SIGKILL when stopping a collector.", valueName: "seconds"))
        var grace: Double = 20

        @Option(help: ArgumentHelp("Attempts per collector task (the first included).", valueName: "n"))
        var maxAttempts: Int = 3

        @Option(help: ArgumentHelp("Seconds before the first retry of a failed task (doubling after).", valueName: "seconds"))
        var retryDelay: Double = 2

        @Option(help: ArgumentHelp("Seconds a standby waits between attempts to become leader.", valueName: "seconds"))
        var leaderRetry: Double = 5

        @Option(help: ArgumentHelp(
            "Seconds a GALAXY_ON_FAILURE hook may run before it is stopped.", valueName: "seconds"))
        var hookTimeout: Double = 30

        @Option(help: ArgumentHelp(
            "Seconds to keep retrying an unreachable database at start before giving up.", valueName: "seconds"))
        var startupTimeout: Double = 50

        @Option(help: ArgumentHelp(
            "Run as if the time were this RFC 3339 instant (demos and end-to-end tests; time then passes normally).",
            valueName: "time"))
        var now: String?

        func run() async throws {
            JournalLogHandler.bootstrap(label: "galaxyd")
            let logger = Logger(label: "galaxyd")
            var environment = SystemdEnvironment.removingSystemdVariables(from: ProcessInfo.processInfo.environment)
            if let databaseURL = common.databaseURL { environment["GALAXY_DATABASE_URL"] = databaseURL }
            if let socket { environment["GALAXY_SOCKET"] = socket }
            if let collector { environment["GALAXY_COLLECTOR"] = collector }
            if let maxChildren { environment["GALAXY_MAX_CHILDREN"] = String(maxChildren) }
            if let metricsFile { environment["GALAXY_METRICS_FILE"] = metricsFile }

            let configuration: GalaxyConfiguration
            do {
                configuration = try GalaxyConfiguration(environment: environment)
            } catch {
                fail("galaxyd: \(error)", exitCode: 78)
            }
            for problem in Galaxyd.systemd.problems { logger.warning("systemd environment: \(problem)") }

            let collectorPath = configuration.collectorPath ?? Self.besideExecutable("galaxy-collector")
            guard access(collectorPath, X_OK) == 0 else {
                fail("galaxyd: GALAXY_COLLECTOR: \(collectorPath) is not an executable file; "
                     + "set GALAXY_COLLECTOR or --collector to the galaxy-collector binary", exitCode: 78)
            }
            var settings = SupervisorSettings(
                configuration: configuration, collectorPath: collectorPath,
                runtimeDirectory: runtimeDirectory ?? environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first.map(String.init)
                    ?? "/tmp/galaxyd-\(geteuid())")
            settings.problems = configuration.credentialProblems(
                credentialsDirectory: environment["CREDENTIALS_DIRECTORY"])
            for problem in settings.problems { logger.error("KRX credentials: \(problem)") }
            settings.readyTimeout = .seconds(readyTimeout)
            settings.heartbeatTimeout = .seconds(heartbeatTimeout)
            settings.maxRuntime = .seconds(maxRuntime)
            settings.terminationGrace = .seconds(grace)
            settings.maxAttempts = max(1, maxAttempts)
            settings.retryBaseDelay = .seconds(retryDelay)
            settings.leaderRetryInterval = .seconds(leaderRetry)
            settings.hookTimeout = .seconds(hookTimeout)

            var options = DaemonOptions(settings: settings, systemd: Galaxyd.systemd, environment: environment)
            if let now {
                guard let start = try? Date(now, strategy: .iso8601) else {
                    fail("galaxyd: --now: '\(now)' is not an RFC 3339 time such as 2026-03-06T19:00:00+09:00", exitCode: 64)
                }
                options.clock = ShiftedSchedulerClock(startingAt: start)
            }
            options.startupTimeout = .seconds(startupTimeout)
            options.adminGroupID = RPCAuthorisationPolicy.groupID(named: configuration.adminGroup)
            if options.adminGroupID == nil {
                logger.warning(
                    "GALAXY_ADMIN_GROUP: no group named \(configuration.adminGroup); only root and galaxyd's own user may start or cancel work")
            }
            do {
                try await GalaxyDaemon.run(options, logger: logger)
            } catch let error as DaemonStartError {
                fail("galaxyd: \(error)", exitCode: error.exitCode)
            }
        }

        static func besideExecutable(_ name: String) -> String {
            let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            return URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent(name).path
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the database migrations and exit (galaxyd also applies them at start).")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            let url = common.databaseURL ?? ProcessInfo.processInfo.environment["GALAXY_DATABASE_URL"]
            do {
                let connection = try Connection(url: url)
                defer { connection.close() }
                let applied = try Migrator().migrate(connection)
                print(applied.isEmpty ? "schema is up to date" : "applied: " + applied.map { "\($0.version) \($0.name)" }.joined(separator: ", "))
            } catch {
                fail("galaxyd migrate: \(error)", exitCode: 1)
            }
        }
    }
}

/// One line on stderr and the exit status: what a person (or systemd) needs, no stack trace.
func fail(_ message: String, exitCode: Int32) -> Never {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    exit(exitCode)
}
