import ArgumentParser
import Foundation
import GalaxyCore
import GalaxyRPC

extension GalaxyCtl {
    struct Metrics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print galaxyd's metrics in the Prometheus text format.",
            discussion: """
                The same text galaxyd keeps in GALAXY_METRICS_FILE for node_exporter's textfile collector \
                (galaxyd opens no port of its own): per dataset the newest collected day and its age in \
                trading days; runs by kind and outcome; task retries, children killed, collector peak RSS; \
                KRX requests, errors by kind, the achieved rate and the breaker; rows stored; run and task \
                duration histograms; leader and database gauges; build info. Counters start at zero when \
                galaxyd starts. The metric names are listed, with their meaning, in docs/install.md.

                Examples:
                  galaxyctl metrics | grep galaxy_dataset_age_trading_days
                  galaxyctl metrics --json | jq -r .text
                """)

        @OptionGroup var connection: ConnectionOptions

        @Flag(help: "Print galaxyd's raw result (content type and text) as one line of JSON.")
        var json = false

        func run() async throws {
            let (raw, result) = try await connection.client.call(GalaxyMethod.metrics, as: MetricsResult.self)
            if json {
                Console.out(raw.jsonText)
            } else {
                Console.write(1, result.text)
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that the last trading day's data is in and galaxy is healthy (a monitoring plugin).",
            discussion: """
                Prints one line and exits with the monitoring-plugin status (Nagios, Icinga, Sensu, \
                Zabbix, Consul): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. It checks:
                  data      each dataset holds the last trading day whose deadline has passed (--deadline, \
                exchange time); Open API datasets, published the next morning, the trading day before. \
                Behind: CRITICAL (WARNING when only that day is missing and the source has not published \
                it yet); never collected: CRITICAL
                  database  galaxyd reaches PostgreSQL (else CRITICAL)
                  leader    some galaxyd holds the scheduler lock (else CRITICAL: nothing runs the daily \
                schedule)
                  breaker   the KRX circuit breaker is closed (else WARNING)
                  configuration  galaxyd found no problem at start, such as missing KRX credentials \
                (else WARNING)
                galaxyd unreachable, permission denied or a bad option: UNKNOWN. Trading days are the \
                weekdays the ledger does not record as closed.

                Examples:
                  galaxyctl check
                  galaxyctl check --deadline 19:30 --dataset price,etf_price
                  galaxyctl check --json | jq '.checks[] | select(.status != "OK")'
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(
            help: ArgumentHelp(
                "HH:MM in the exchange's time zone by which a trading day's data must be in (an hour after the "
                    + "default 18:00 daily run; move it with GALAXY_DAILY_CRON).", valueName: "time"))
        var deadline = CheckParams.defaultDeadline

        @Option(
            name: .customLong("dataset"),
            help: ArgumentHelp(
                "A dataset to check, repeatable or comma-separated (default: the six of the daily run).",
                valueName: "name"))
        var datasets: [String] = []

        @Flag(name: [.short, .long], help: "After the summary line, one line per check and per dataset.")
        var verbose = false

        @Flag(help: "Print galaxyd's result as one line of JSON (the exit status is the same).")
        var json = false

        func validate() throws {
            guard ClockTime(deadline) != nil else {
                throw ValidationError("--deadline must be HH:MM (00:00 to 23:59), got \"\(deadline)\"")
            }
            _ = try parseDatasets(datasets)
        }

        func run() async throws {
            var params: [String: JSONValue] = ["deadline": .string(deadline)]
            let names = try parseDatasets(datasets)
            if !names.isEmpty { params["datasets"] = .array(names.map { .string($0.rawValue) }) }
            let report: CheckReport
            let raw: JSONValue
            do {
                (raw, report) = try await connection.client.call(GalaxyMethod.check, params, as: CheckReport.self)
            } catch {
                Self.printUnknown(error.message, json: json)
                throw ExitCode(CheckStatus.unknown.exitCode)
            }
            if json {
                Console.out(raw.jsonText)
            } else {
                Console.out(Self.line(report))
                if verbose {
                    for item in report.checks { Console.out("\(item.name): \(item.status.rawValue): \(item.detail)") }
                    for dataset in report.datasets {
                        Console.out("\(dataset.dataset): \(dataset.status.rawValue): \(dataset.detail)")
                    }
                }
            }
            if report.status != .ok { throw ExitCode(report.status.exitCode) }
        }

        /// Whatever stopped the check (galaxyd unreachable, permission denied, a mistyped option), a monitoring
        /// system must read UNKNOWN, never CRITICAL or OK; the caller exits 3.
        static func printUnknown(_ message: String, json: Bool) {
            if json {
                Console.out(JSONValue.object([
                    "status": .string(CheckStatus.unknown.rawValue), "summary": .string(message),
                ]).jsonText)
            } else {
                Console.out("GALAXY UNKNOWN: \(message)")
            }
        }

        /// `GALAXY STATUS: summary | perfdata`: each dataset's age in trading days, critical above 0 (the plugin
        /// guidelines' range `0`, that is 0 through 0).
        static func line(_ report: CheckReport) -> String {
            let performance = report.datasets.compactMap { dataset in
                dataset.ageTradingDays.map { "age_\(dataset.dataset)=\($0);;0;0;" }
            }
            var text = "GALAXY \(report.status.rawValue): \(report.summary)"
            if !performance.isEmpty { text += " | " + performance.joined(separator: " ") }
            return text
        }
    }
}
