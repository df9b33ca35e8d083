import ArgumentParser
import Foundation
import GalaxyCore
import GalaxyRPC

#if canImport(Glibc)
import Glibc
#endif

extension GalaxyCtl {
    struct Coverage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what the ledger holds as a calendar: a cell per day, a block per year, with totals.",
            discussion: """
                Each year is drawn like a contribution graph: a column per week, Monday on top, \
                a cell per day, the year's totals in its heading. On a terminal the cells are \
                coloured (NO_COLOR or TERM=dumb turns that off); otherwise they are letters:
                  #  collected
                  .  no session (closed; also a weekend day without a ledger row)
                  F  failed (fetched again by healing and backfill --only-failed)
                  ?  pending (an answer that may be premature; fetched again)
                  _  missing: a weekday without a ledger row (a backfill fills it)
                     (blank: outside the range, before January 1st or after today)

                For example, the first weeks of a year with a failed day and a gap:
                  2026 price: 29 collected, 15 no session, 1 failed, 0 pending, 1 missing
                      Jan     Feb
                  Mon   # # # # # #
                  Tue   # # _ # # #
                  Wed   # # # # # #
                  Thu . # # # # # #
                  Fri F # # # # # #
                  Sat . . . . . . .
                  Sun . . . . . . .

                --json prints galaxyd's `coverage` result as one line: per dataset and year \
                the totals and a `days` text, one letter per day from January 1st (C, N, F, P, M).

                Examples:
                  galaxyctl coverage           (price and etf_price, from the first year held)
                  galaxyctl coverage --dataset price --from 2020 --to 2024
                  galaxyctl coverage --dataset valuation,sector --json | jq '.datasets[].totals'
                """)

        @OptionGroup var connection: ConnectionOptions

        @Option(
            name: .customLong("dataset"),
            help: ArgumentHelp(
                "A dataset to show, repeatable or comma-separated (default price and etf_price).", valueName: "name"))
        var datasets: [String] = []

        @Option(
            name: .customLong("from"),
            help: ArgumentHelp("First year (default: the first year held).", valueName: "year"))
        var fromYear: Int?

        @Option(name: .customLong("to"), help: ArgumentHelp("Last year (default: this year).", valueName: "year"))
        var toYear: Int?

        @Flag(help: "Print the raw result as one line of JSON.")
        var json = false

        func validate() throws {
            let currentYear = Backfill.currentExchangeYear()
            for (flag, year) in [("--from", fromYear), ("--to", toYear)] {
                if let year, !(1990...currentYear).contains(year) {
                    throw ValidationError("\(flag) must be a year from 1990 through \(currentYear), got \(year)")
                }
            }
            if let fromYear, let toYear, fromYear > toYear {
                throw ValidationError("--from \(fromYear) is after --to \(toYear)")
            }
            _ = try parseDatasets(datasets)
        }

        func run() async throws {
            var params: [String: JSONValue] = [:]
            let names = try parseDatasets(datasets)
            if !names.isEmpty { params["datasets"] = .array(names.map { .string($0.rawValue) }) }
            if let fromYear { params["fromYear"] = .integer(Int64(fromYear)) }
            if let toYear { params["toYear"] = .integer(Int64(toYear)) }
            let (raw, report) = try await connection.client.call(GalaxyMethod.coverage, params, as: CoverageReport.self)
            if json {
                Console.out(raw.jsonText)
                return
            }
            let lines = CoverageCalendar(report: report, colour: Self.wantsColour).render()
            Console.write(1, lines.joined(separator: "\n") + "\n")
        }

        /// Colours on a terminal, unless `NO_COLOR` is set (no-color.org) or `TERM` is `dumb` or unset.
        static var wantsColour: Bool {
            let environment = ProcessInfo.processInfo.environment
            guard Console.stdoutIsTerminal, environment["NO_COLOR"]?.isEmpty ?? true else { return false }
            guard let term = environment["TERM"], !term.isEmpty, term != "dumb" else { return false }
            return true
        }
    }
}
