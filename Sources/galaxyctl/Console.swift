import Dispatch
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

/// Runs `handler` (on a dispatch thread) when the user presses Ctrl-C, instead of the default of dying mid-line.
/// The source lives as long as this object.
final class InterruptHandler: @unchecked Sendable {
    // @unchecked: the source is created, resumed and cancelled by its owner only; dispatch serialises its events.
    private let source: any DispatchSourceSignal

    init(_ handler: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue.global())
        source.setEventHandler(handler: handler)
        source.resume()
    }

    deinit {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
