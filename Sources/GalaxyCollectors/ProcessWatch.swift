import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The process-level events a collector reacts to: SIGTERM/SIGINT (the supervisor or an operator cancels) and, with
/// `--supervised`, EOF on stdin (the supervisor died: the pipe's write end closed).
public enum ProcessWatch {
    /// Routes SIGTERM and SIGINT to `handler` on a private queue instead of killing the process. Keep the returned
    /// sources alive for as long as the handler should run.
    public static func onTermination(_ handler: @escaping @Sendable (Int32) -> Void) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "galaxy-collector.signals")
        return [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { handler(signalNumber) }
            source.resume()
            return source
        }
    }

    /// Starts a thread that blocks reading stdin and calls `onEOF` when it reaches end-of-file (or fails). Data read
    /// is discarded: the pipe exists only so that its closing tells the child its supervisor is gone.
    public static func watchStandardInput(onEOF: @escaping @Sendable () -> Void) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 512)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count > 0 { continue }
                if count < 0 && errno == EINTR { continue }
                break
            }
            onEOF()
        }
        thread.name = "galaxy-collector-stdin"
        thread.start()
    }
}
