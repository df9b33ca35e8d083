import ArgumentParser
import GalaxyRPC

extension GalaxyCtl {
    struct Version: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print galaxyctl's version and, if galaxyd answers, the daemon's.")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            Console.out("galaxyctl \(GalaxyCtl.version)")
            let client = connection.client
            do {
                let report = try await client.call(GalaxyMethod.status, as: StatusReport.self)
                Console.out(
                    "galaxyd \(report.value.daemon.version) (pid \(report.value.daemon.pid), \(client.socketPath))")
            } catch {
                Console.out("galaxyd: not reachable: \(error.message)")
            }
        }
    }
}
