import ArgumentParser
import Foundation
import GalaxyCore
import GalaxyRPC

extension GalaxyCtl {
    struct RunDaily: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-daily",
            abstract: "Start the daily collection now (all six collectors, plus days the ledger lacks).",
            discussion: """
                Returns at once with the run's id, unless --wait. A daily run for the same date that is already \
                going is followed instead of starting a second one.
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(
            help: ArgumentHelp("Trading date to collect (default: today in galaxyd's GALAXY_TZ).", valueName: "date"))
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
            try await announce(started, raw: raw, kind: "daily", client: client, follow: wait, json: json)
        }
    }

    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Collect history from --start-year to today (price and etf_price unless --dataset).",
            discussion: """
                Fills years before the earliest stored day, gaps in the middle and days since the latest, in yearly \
                chunks; days already collected are not fetched again, so a backfill can be stopped (cancel) and \
                started again. Only one backfill runs at a time: starting another returns (with --follow: follows) \
                the running one.
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

        var parsedDatasets: [Dataset] { get throws { try parseDatasets(datasets) } }

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
            try await announce(started, raw: raw, kind: "backfill", client: client, follow: follow, json: json)
        }

        /// This year at the exchange (GALAXY_TZ, default Asia/Seoul), as galaxyd checks it.
        static func currentExchangeYear() -> Int {
            let zone =
                ProcessInfo.processInfo.environment["GALAXY_TZ"].flatMap(TimeZone.init(identifier:))
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
}

/// `--dataset` values, repeatable or comma-separated, each dataset once in the order given.
func parseDatasets(_ values: [String]) throws -> [Dataset] {
    var result: [Dataset] = []
    for name in values.flatMap({ $0.split(separator: ",") }).map({ $0.trimmingCharacters(in: .whitespaces) }) {
        guard let dataset = Dataset(rawValue: name) else {
            throw ValidationError(
                "--dataset: unknown dataset '\(name)'; expected one of "
                    + Dataset.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if !result.contains(dataset) { result.append(dataset) }
    }
    return result
}

/// What run-daily and backfill print once the run has started, then the follow if asked.
private func announce(
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
        Console.out(
            "follow it with `galaxyctl follow \(started.runId)`; cancel it with `galaxyctl cancel \(started.runId)`")
    }
}

private func followRun(_ runId: RunID, client: ControlClient, json: Bool) async throws {
    let outcome = try await RunFollower.followAndSummarise(client: client, runId: runId, quiet: json)
    if json { Console.out(outcome.rawStatus.jsonText) }
    try exitUnlessOK(outcome.exitCode)
}
