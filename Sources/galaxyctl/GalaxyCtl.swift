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
              galaxyctl coverage --dataset price --from 2020
              galaxyctl check --deadline 19:00
              galaxyctl metrics

            \(CtlExitCode.helpText)
            """,
        version: version,
        subcommands: [
            Status.self, RunDaily.self, Backfill.self, Follow.self, Cancel.self, Coverage.self, Check.self,
            Metrics.self, Version.self,
        ])

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
                // A monitoring system reads a mistyped `check` as UNKNOWN, not as 2 (CRITICAL).
                let isCheck = CommandLine.arguments.dropFirst().first == "check"
                if isCheck { Check.printUnknown(message(for: error), json: false) }
                Glibc.exit(isCheck ? CheckStatus.unknown.exitCode : CtlExitCode.usage)
            }
            exit(withError: error)
        }
    }
}

/// `--socket`, shared by every command that talks to galaxyd.
struct ConnectionOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "galaxyd's control socket (GALAXY_SOCKET; default /run/galaxyd/control.sock).", valueName: "path"))
    var socket: String?

    var client: ControlClient {
        ControlClient(
            socketPath: ControlClient.resolveSocketPath(flag: socket, environment: ProcessInfo.processInfo.environment))
    }
}

/// Ends the command with `code` (after its output is written) unless it is 0.
func exitUnlessOK(_ code: Int32) throws {
    if code != CtlExitCode.ok { throw ExitCode(code) }
}
