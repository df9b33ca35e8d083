/// Shared helpers for the test targets: a private database per test, temporary directories, child processes.
public enum GalaxyTestSupport {}
