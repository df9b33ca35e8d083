/// galaxyctl's exit statuses: the contract scripts rely on, printed by `galaxyctl --help`.
enum CtlExitCode {
    /// The command did what was asked (with `--wait`/`--follow`: the run succeeded).
    static let ok: Int32 = 0
    /// With `--wait`/`--follow`: the run ended failed, partial, cancelled or interrupted.
    static let runFailed: Int32 = 1
    /// A usage error: an unknown flag, a bad value, or params the daemon rejected as invalid.
    static let usage: Int32 = 2
    /// galaxyd cannot be reached: no socket, nothing listening, or no answer.
    static let unreachable: Int32 = 3
    /// Permission denied: on the socket itself, or for a method that starts or cancels work.
    static let permissionDenied: Int32 = 4
    /// galaxyd answered with another error (no such run, database unavailable, standby, shutting down, …).
    static let daemonError: Int32 = 5
    /// Ctrl-C while following a run: galaxyctl stopped watching; the run goes on in galaxyd.
    static let interrupted: Int32 = 130

    /// The text of `galaxyctl --help` that lists them.
    static let helpText = """
        Exit status:
          0    success (--wait/--follow: the run succeeded)
          1    --wait/--follow: the run failed, or ended partial/cancelled/interrupted
          2    usage error (a bad flag or value, or params galaxyd rejected)
          3    galaxyd cannot be reached (no socket, nothing listening, no answer)
          4    permission denied (on the socket, or to start or cancel work)
          5    galaxyd answered another error (no such run, database down, standby)
          130  Ctrl-C while following: the run goes on (`galaxyctl cancel RUN`)
        `galaxyctl check` exits as a monitoring plugin instead: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
        """
}

/// Why galaxyctl stops: one line a person can act on, and the exit status for scripts. Never a stack trace.
struct CtlFailure: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}
