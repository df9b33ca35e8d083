import ArgumentParser
import Foundation
import GalaxyCore
import GalaxyRPC

extension GalaxyCtl {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the daemon, schedule, running collectors, recent runs and the source.",
            discussion:
                "--json prints galaxyd's `status` result as one line (the schema in protocol/galaxyd.openrpc.json).")

        @OptionGroup var connection: ConnectionOptions

        @Option(name: .customLong("run"), help: ArgumentHelp("Only this run, with its tasks.", valueName: "run"))
        var runId: Int64?

        @Flag(help: "Print the raw result as one line of JSON.")
        var json = false

        func run() async throws {
            var params: [String: JSONValue] = [:]
            if let runId { params["runId"] = .integer(runId) }
            let (raw, report) = try await connection.client.call(GalaxyMethod.status, params, as: StatusReport.self)
            if json {
                Console.out(raw.jsonText)
                return
            }
            if let runId, let status = report.runs.first(where: { $0.id == runId }) {
                StatusView(report: report).daemonLines().forEach(Console.out)
                Console.out("")
                ProgressDisplay.summary(status).prefix(1).forEach(Console.out)
                Console.out(
                    "  state \(status.state), created \(Format.time(status.createdAt)) by \(status.requestedBy)")
                StatusView.taskLines(status).forEach(Console.out)
            } else {
                StatusView(report: report).render().forEach(Console.out)
            }
        }
    }
}
