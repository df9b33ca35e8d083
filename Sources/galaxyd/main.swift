import GalaxySystemd

// Take NOTIFY_SOCKET, WATCHDOG_*, LISTEN_* out of the environment before any thread exists (setenv/unsetenv are not
// thread-safe), so no child ever inherits them.
let systemdEnvironment = SystemdEnvironment.takeFromProcess()
await Galaxyd.main(systemd: systemdEnvironment)
