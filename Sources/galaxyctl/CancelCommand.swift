import ArgumentParser
import GalaxyRPC

extension GalaxyCtl {
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
}
