import GalaxyTestSupport

/// A stand-in for `galaxy-collector` that speaks the child protocol (READY=1, WATCHDOG=1, X_GALAXY_PROGRESS over
/// NOTIFY_SOCKET) and behaves as told per dataset, so galaxyctl sees real runs end every way a run can end.
enum FakeCollectorBehaviour: String {
    /// Succeeds at once.
    case ok
    /// Reports progress day by day over about a second (`--from/--to` ranges count their days), then succeeds.
    case progress
    /// Exits 1 after reporting one failed day.
    case exit1
    /// Heartbeats until stopped (a long task that only a cancel or SIGTERM ends).
    case forever

    static func script(
        in directory: TemporaryDirectory, behaviours: [String: FakeCollectorBehaviour],
        default fallback: FakeCollectorBehaviour
    ) throws -> String {
        let table = behaviours.map { "\"\($0.key)\": \"\($0.value.rawValue)\"" }.joined(separator: ", ")
        return try directory.script(
            "fake-collector",
            """
            #!/usr/bin/env python3
            import datetime, os, socket, sys, time
            job = sys.argv[1]
            args = sys.argv[2:]
            mode = {\(table)}.get(job, "\(fallback.rawValue)")
            with open(os.path.join(os.path.dirname(sys.argv[0]), "calls.log"), "a") as log:
                log.write(job + " " + " ".join(args) + "\\n")
            def notify(message):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.sendto(message.encode(), os.environ["NOTIFY_SOCKET"])
                s.close()
            def arg(name):
                return args[args.index(name) + 1] if name in args else None
            days = 1
            if arg("--from") and arg("--to"):
                start = datetime.date.fromisoformat(arg("--from"))
                days = (datetime.date.fromisoformat(arg("--to")) - start).days + 1
            notify("READY=1\\nSTATUS=starting")
            if mode == "exit1":
                notify("X_GALAXY_PROGRESS=0/1/1/0/1")
                sys.exit(1)
            if mode == "forever":
                while True:
                    notify("WATCHDOG=1")
                    time.sleep(0.1)
            if mode == "progress":
                steps = 8
                for step in range(1, steps + 1):
                    done = days * step // steps
                    notify("WATCHDOG=1\\nX_GALAXY_PROGRESS=%d/0/%d/%d/%d" % (done, days, done * 950, done * 2))
                    time.sleep(0.15)
            notify("STATUS=done\\nX_GALAXY_PROGRESS=%d/0/%d/%d/%d" % (days, days, days * 950, days * 2))
            sys.exit(0)
            """)
    }
}
