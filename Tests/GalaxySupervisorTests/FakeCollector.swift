import GalaxyTestSupport

/// A stand-in for `galaxy-collector` that speaks the child protocol (READY=1, WATCHDOG=1, X_GALAXY_PROGRESS over
/// NOTIFY_SOCKET) and misbehaves on demand, per dataset: the supervisor's isolation is tested against real processes
/// that really segfault, die by SIGKILL, exit 1 or hang.
enum FakeCollector {
    enum Behaviour: String {
        case ok
        /// Heartbeats for a while, then succeeds.
        case slow
        case segfault
        case sigkill
        case exit1
        /// READY, then silence: killed by the heartbeat deadline.
        case hang
        /// Never sends READY.
        case noReady = "no-ready"
        /// Heartbeats forever (a long task that only a cancel or SIGTERM ends).
        case forever
        /// Exit 69: the source is blocked, not worth retrying.
        case blocked
    }

    static func script(in directory: TemporaryDirectory, behaviours: [String: Behaviour], default fallback: Behaviour = .ok,
                       slowSeconds: Double = 1) throws -> String {
        let table = behaviours.map { "\"\($0.key)\": \"\($0.value.rawValue)\"" }.joined(separator: ", ")
        return try directory.script("fake-collector", """
            #!/usr/bin/env python3
            import os, signal, socket, sys, time
            job = sys.argv[1]
            mode = {\(table)}.get(job, "\(fallback.rawValue)")
            log = open(os.path.join(os.path.dirname(sys.argv[0]), "calls.log"), "a")
            log.write(job + " " + " ".join(sys.argv[2:]) + " pid=" + str(os.getpid()) + "\\n")
            log.close()
            with open(os.path.join(os.path.dirname(sys.argv[0]), "env-" + job + ".txt"), "w") as env:
                env.write("\\n".join(sorted(k + "=" + v for k, v in os.environ.items())))
            def notify(message):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.sendto(message.encode(), os.environ["NOTIFY_SOCKET"])
                s.close()
            print("<6>fake collector " + job + " mode " + mode, file=sys.stderr, flush=True)
            if mode == "no-ready":
                time.sleep(1000)
            notify("READY=1\\nSTATUS=starting")
            if mode == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            if mode == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            if mode == "exit1":
                notify("X_GALAXY_PROGRESS=0/1/1/0/1")
                sys.exit(1)
            if mode == "blocked":
                sys.exit(69)
            if mode == "hang":
                time.sleep(1000)
            if mode in ("slow", "forever"):
                end = time.time() + (1e9 if mode == "forever" else \(slowSeconds))
                while time.time() < end:
                    notify("WATCHDOG=1")
                    time.sleep(0.1)
            notify("STATUS=done\\nX_GALAXY_PROGRESS=1/0/1/100/2")
            sys.exit(0)
            """)
    }
}
