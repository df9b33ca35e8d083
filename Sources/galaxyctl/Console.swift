import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where galaxyctl writes: unbuffered writes to fds 1 and 2, so progress lines, summaries and errors appear in the
/// order they were made even when stdout is a pipe.
enum Console {
    static func out(_ line: String) { write(1, line + "\n") }
    static func err(_ line: String) { write(2, line + "\n") }

    /// Writes without a newline (the TTY progress line).
    static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Whether stdout is a terminal (a live progress line) or a pipe or file (plain progress lines).
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// The terminal's width, or `COLUMNS`, or 80.
    static var columns: Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let text = ProcessInfo.processInfo.environment["COLUMNS"], let value = Int(text), value > 0 { return value }
        return 80
    }
}

/// What Ctrl-C does while galaxyctl follows a run: write a prepared message and exit with a fixed status, from the
/// signal handler itself.
///
/// Why not a dispatch signal source: on Linux it reads a signalfd, and a SIGINT that the kernel hands to a thread
/// that has not blocked it (any of the concurrency pool's) is dropped under `SIG_IGN` — the press is lost at random.
/// A real handler runs on whichever thread takes the signal, and `write`/`_exit` are async-signal-safe.
enum InterruptExit {
    /// Set before the handler is installed and never changed after, so the handler only reads it.
    nonisolated(unsafe) private static var parts: [(fd: Int32, bytes: UnsafeMutableBufferPointer<UInt8>)] = []
    nonisolated(unsafe) private static var status: Int32 = 130

    /// From now on, SIGINT writes `stdoutText` to stdout and `stderrText` to stderr, then exits with `status`.
    static func install(stdoutText: String, stderrText: String, status: Int32) {
        parts = [(Int32(1), stdoutText), (Int32(2), stderrText)].filter { !$0.1.isEmpty }.map { fd, text in
            let bytes = Array(text.utf8)
            let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
            _ = buffer.initialize(from: bytes)
            return (fd, buffer)
        }
        self.status = status
        signal(SIGINT) { _ in
            for part in InterruptExit.parts { _ = write(part.fd, part.bytes.baseAddress, part.bytes.count) }
            _exit(InterruptExit.status)
        }
    }

    /// Back to the default (Ctrl-C ends galaxyctl at once).
    static func remove() { signal(SIGINT, SIG_DFL) }
}
