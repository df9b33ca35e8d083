import Foundation
import Synchronization

/// A `krx-sim` executable running as a child process, for tests that need the simulator outside their own
/// process (a collector child, a daemon). In-process tests should prefer `KRXSimulator.start` from the
/// `KRXSimulator` module, which also exposes the data model.
///
/// The process prints its base URL as the first stdout line; `launch` returns once that line arrived, so the
/// port is listening when the caller gets the URL. `stop()` sends SIGTERM and waits for the exit.
public final class KRXSimProcess: Sendable {
    /// `http://127.0.0.1:PORT`.
    public let baseURL: String
    private let process: Process
    private let exit: AsyncStream<Int32>

    private init(process: Process, baseURL: String, exit: AsyncStream<Int32>) {
        self.process = process
        self.baseURL = baseURL
        self.exit = exit
    }

    /// Why a `krx-sim` child could not be started.
    public struct LaunchError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `krx-sim` binary built beside the test bundle (`.build/<config>/krx-sim`).
    public static func executable() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
        ].map { $0.appendingPathComponent("krx-sim") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw LaunchError(
                description: "krx-sim not found beside the tests (looked at \(candidates.map(\.path))); "
                    + "build it with `swift build --build-tests` first")
        }
        return found
    }

    /// Starts `krx-sim --port 0 --quiet` plus `arguments` (e.g. `["--today", "2024-03-15", "--require-login"]`),
    /// through `launcher` when given (`["/usr/sbin/ip", "netns", "exec", NS]`, which execs krx-sim in place).
    public static func launch(_ arguments: [String] = [], launcher: [String] = []) async throws -> KRXSimProcess {
        let process = Process()
        let simulator = try executable()
        process.executableURL = launcher.first.map { URL(fileURLWithPath: $0) } ?? simulator
        process.arguments = (launcher.isEmpty ? [] : Array(launcher.dropFirst()) + [simulator.path])
            + ["--port", "0", "--quiet"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        let (exit, exitContinuation) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            exitContinuation.yield(process.terminationStatus)
            exitContinuation.finish()
        }
        let firstLine = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<String, any Error>) in
            let state = Mutex<(buffer: [UInt8], resumed: Bool)>(([], false))
            output.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                let line: String? = state.withLock { state in
                    guard !state.resumed else { return nil }
                    state.buffer.append(contentsOf: data)
                    if let newline = state.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        state.resumed = true
                        return String(decoding: state.buffer[..<newline], as: UTF8.self)
                    }
                    if data.isEmpty {
                        state.resumed = true
                        return ""
                    }
                    return nil
                }
                if let line {
                    handle.readabilityHandler = nil
                    continuation.resume(returning: line)
                }
            }
            do {
                try process.run()
            } catch {
                output.fileHandleForReading.readabilityHandler = nil
                continuation.resume(throwing: error)
            }
        }
        guard firstLine.hasPrefix("http://") else {
            if process.isRunning { process.terminate() }
            throw LaunchError(description: "krx-sim exited before printing its base URL (arguments: \(arguments))")
        }
        return KRXSimProcess(process: process, baseURL: firstLine, exit: exit)
    }

    /// The child's pid.
    public var pid: Int32 { process.processIdentifier }

    /// Sends SIGTERM and returns the exit status (0 for a clean shutdown).
    @discardableResult
    public func stop() async -> Int32? {
        if process.isRunning { process.terminate() }
        for await status in exit { return status }
        return nil
    }
}
