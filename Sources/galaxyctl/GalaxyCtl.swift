import ArgumentParser
import Foundation
import GalaxyCore
import GalaxyRPC

#if canImport(Glibc)
import Glibc
#endif

/// The operator's CLI for galaxyd: one JSON-RPC call (or a poll loop) per command over the control socket.
@main
struct GalaxyCtl: AsyncParsableCommand {
    /// galaxyctl's own version (the daemon reports its own; `galaxyctl version` shows both).
    static let version = "1.0.0"

    static let configuration = CommandConfiguration(
        commandName: "galaxyctl",
        abstract: "Control galaxyd: show its status, start the daily collection or a backfill, cancel a run.",
        discussion: """
            galaxyctl talks JSON-RPC 2.0 to galaxyd over its control socket: --socket, else GALAXY_SOCKET, else \
            /run/galaxyd/control.sock. Anyone who may open the socket (group galaxy-ctl) may read the status; \
            starting or cancelling work needs root, galaxyd's own user, or the admin group (GALAXY_ADMIN_GROUP, \
            default galaxy-admin). Dates are YYYY-MM-DD (YYYYMMDD is accepted too).

            Examples:
              galaxyctl status
              galaxyctl run-daily --wait
              galaxyctl backfill --start-year 2015 --follow
              galaxyctl backfill --start-year 2015 --dataset price --only-failed
              galaxyctl cancel 42

            \(CtlExitCode.helpText)
            """,
        version: version,
        subcommands: [Status.self, RunDaily.self, Backfill.self, Follow.self, Cancel.self, Version.self])

    /// ArgumentParser's `main`, with galaxyctl's exit statuses: usage errors exit 2 (not 64), failures print one
    /// line on stderr and exit with their documented status.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CtlFailure {
            Console.err("galaxyctl: \(failure.message)")
            Glibc.exit(failure.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                Console.err(fullMessage(for: error))
                Glibc.exit(CtlExitCode.usage)
            }
            exit(withError: error)
        }
    }
}

/// `--socket`, shared by every command that talks to galaxyd.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "galaxyd's control socket (GALAXY_SOCKET; default /run/galaxyd/control.sock).", valueName: "path"))
    var socket: String?

    var client: ControlClient {
        ControlClient(
            socketPath: ControlClient.resolveSocketPath(flag: socket, environment: ProcessInfo.processInfo.environment))
    }
}

/// Ends the command with `code` (after its output is written) unless it is 0.
func finish(with code: Int32) throws {
    if code != CtlExitCode.ok { throw ExitCode(code) }
}

extension GalaxyCtl {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the daemon, schedule, running collectors, recent runs and the source.",
            discussion: "--json prints galaxyd's `status` result as one line (the schema in protocol/galaxyd.openrpc.json).")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("Only this run, with its tasks.", valueName: "run"))
        var run: Int64?

        @Flag(help: "Print the raw result as one line of JSON.")
        var json = false

        func run() async throws {
            var params: [String: JSONValue] = [:]
            if let run { params["runId"] = .integer(run) }
            let (raw, report) = try await connection.client.call(GalaxyMethod.status, params, as: StatusReport.self)
            if json {
                Console.out(raw.jsonText)
                return
            }
            if let run, let status = report.runs.first(where: { $0.id == run }) {
                StatusView(report: report).daemonLines().forEach(Console.out)
                Console.out("")
                ProgressDisplay.summary(status).prefix(1).forEach(Console.out)
                Console.out("  state \(status.state), created \(Format.time(status.createdAt)) by \(status.requestedBy)")
                StatusView.taskLines(status).forEach(Console.out)
            } else {
                StatusView(report: report).render().forEach(Console.out)
            }
        }
    }

    struct RunDaily: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-daily",
            abstract: "Start the daily collection now (all six collectors, plus days the ledger lacks).",
            discussion: """
                Returns at once with the run's id, unless --wait. A daily run for the same date that is already \
                going is followed instead of starting a second one.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("Trading date to collect (default: today in galaxyd's GALAXY_TZ).", valueName: "date"))
        var date: String?

        @Flag(help: "Follow the run with live progress; exit 1 unless it succeeds.")
        var wait = false

        @Flag(help: "Print the raw result as one line of JSON (with --wait, then the run's final status).")
        var json = false

        func validate() throws {
            if let date, TradeDate(date) == nil {
                throw ValidationError("--date must be a date YYYY-MM-DD (or YYYYMMDD), got '\(date)'")
            }
        }

        func run() async throws {
            let client = connection.client
            var params: [String: JSONValue] = [:]
            if let date = date.flatMap(TradeDate.init) { params["date"] = .string(date.iso) }
            let (raw, started) = try await client.call(GalaxyMethod.runDaily, params, as: RunStartedResult.self)
            try await report(started, raw: raw, kind: "daily", client: client, follow: wait, json: json)
        }
    }

    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect history from --start-year to today (price and etf_price unless --dataset).",
            discussion: """
                Fills years before the earliest stored day, gaps in the middle and days since the latest, in yearly \
                chunks; days already collected are not fetched again, so a backfill can be stopped (cancel) and \
                started again. Only one backfill runs at a time: starting another follows the running one.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(help: ArgumentHelp("First year to fill (1990 through this year).", valueName: "year"))
        var startYear: Int

        @Option(
            name: .customLong("dataset"),
            help: ArgumentHelp(
                "A dataset to fill, repeatable or comma-separated: \(Dataset.allCases.map(\.rawValue).joined(separator: ", ")).",
                valueName: "name"))
        var datasets: [String] = []

        @Flag(help: "Re-collect only the days whose last attempt failed.")
        var onlyFailed = false

        @Flag(help: "Follow the run with live progress; exit 1 unless it succeeds.")
        var follow = false

        @Flag(help: "Print the raw result as one line of JSON (with --follow, then the run's final status).")
        var json = false

        var parsedDatasets: [Dataset] {
            get throws {
                var result: [Dataset] = []
                for name in datasets.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    guard let dataset = Dataset(rawValue: name) else {
                        throw ValidationError(
                            "--dataset: unknown dataset '\(name)'; expected one of "
                                + Dataset.allCases.map(\.rawValue).joined(separator: ", "))
                    }
                    if !result.contains(dataset) { result.append(dataset) }
                }
                return result
            }
        }

        func validate() throws {
            let currentYear = Self.currentExchangeYear()
            guard (1990...currentYear).contains(startYear) else {
                throw ValidationError("--start-year must be a year from 1990 through \(currentYear), got \(startYear)")
            }
            _ = try parsedDatasets
        }

        func run() async throws {
            let client = connection.client
            var params: [String: JSONValue] = ["startYear": .integer(Int64(startYear))]
            let datasets = try parsedDatasets
            if !datasets.isEmpty { params["datasets"] = .array(datasets.map { .string($0.rawValue) }) }
            if onlyFailed { params["onlyFailed"] = .bool(true) }
            let (raw, started) = try await client.call(GalaxyMethod.backfill, params, as: RunStartedResult.self)
            try await report(started, raw: raw, kind: "backfill", client: client, follow: follow, json: json)
        }

        /// This year at the exchange (GALAXY_TZ, default Asia/Seoul), as galaxyd checks it.
        static func currentExchangeYear() -> Int {
            let zone = ProcessInfo.processInfo.environment["GALAXY_TZ"].flatMap(TimeZone.init(identifier:))
                ?? TimeZone(identifier: "Asia/Seoul") ?? .current
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            return calendar.component(.year, from: Date())
        }
    }

    struct Follow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a run to its end with live progress; exit 1 unless it succeeds.",
            discussion: "Ctrl-C stops following; the run goes on.")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: ArgumentHelp("The run's id (see `galaxyctl status`).", valueName: "run"))
        var runId: Int64

        @Flag(help: "No progress; print the run's final status as one line of JSON.")
        var json = false

        func run() async throws {
            try await followRun(runId, client: connection.client, json: json)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a run: its collectors are stopped and it ends cancelled (resumable for backfills).")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: ArgumentHelp("The run's id (see `galaxyctl status`).", valueName: "run"))
        var runId: Int64

        @Flag(help: "Print the raw result as one line of JSON.")
        var json = false

        func run() async throws {
            let (raw, result) = try await connection.client.call(
                GalaxyMethod.cancel, ["runId": .integer(runId)], as: CancelResult.self)
            if json {
                Console.out(raw.jsonText)
            } else if result.state == "cancelling" {
                Console.out(
                    "run \(result.runId): cancelling; its collectors are being stopped (`galaxyctl follow \(result.runId)` "
                        + "shows when it has ended)")
            } else {
                Console.out("run \(result.runId) had already ended: \(result.state)")
            }
        }
    }

    struct Version: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print galaxyctl's version and, if galaxyd answers, the daemon's.")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            Console.out("galaxyctl \(GalaxyCtl.version)")
            let client = connection.client
            do {
                let report = try await client.call(GalaxyMethod.status, as: StatusReport.self)
                Console.out("galaxyd \(report.value.daemon.version) (pid \(report.value.daemon.pid), \(client.socketPath))")
            } catch {
                Console.out("galaxyd: not reachable: \(error.message)")
            }
        }
    }
}

/// What run-daily and backfill print once the run has started, and the follow if asked.
private func report(
    _ started: RunStartedResult, raw: JSONValue, kind: String, client: ControlClient, follow: Bool, json: Bool
) async throws {
    if json {
        Console.out(raw.jsonText)
    } else if started.alreadyRunning == true {
        Console.out("a \(kind) run is already going: run \(started.runId)" + (follow ? "; following it" : ""))
    } else {
        Console.out("started \(kind) run \(started.runId)")
    }
    if follow {
        try await followRun(started.runId, client: client, json: json)
    } else if !json {
        Console.out("follow it with `galaxyctl follow \(started.runId)`; cancel it with `galaxyctl cancel \(started.runId)`")
    }
}

private func followRun(_ runId: RunID, client: ControlClient, json: Bool) async throws {
    let outcome = try await RunFollower.followAndSummarise(client: client, runId: runId, quiet: json)
    if json { Console.out(outcome.rawStatus.jsonText) }
    try finish(with: outcome.exitCode)
}
