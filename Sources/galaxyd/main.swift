import GalaxySystemd

#if canImport(Glibc)
import Glibc
#endif

// Take NOTIFY_SOCKET, WATCHDOG_*, LISTEN_* out of the environment before any thread exists (setenv/unsetenv are not
// thread-safe), so no child ever inherits them.
let systemdEnvironment = SystemdEnvironment.takeFromProcess()

// SIGABRT is how systemd's watchdog ends a galaxyd it has declared hung (and how abort() ends one that gave up). The
// Swift runtime's backtracer catches it, prints a backtrace and, for a signal sent from outside, returns: galaxyd went
// on starting collectors for 45 s until systemd's SIGKILL. The default action ends the process at once and leaves a
// core for diagnosis (in StateDirectory, the unit's working directory, with LimitCORE=); crashes inside galaxyd
// (traps, SIGSEGV) keep the backtracer.
signal(SIGABRT, SIG_DFL)

await Galaxyd.main(systemd: systemdEnvironment)
