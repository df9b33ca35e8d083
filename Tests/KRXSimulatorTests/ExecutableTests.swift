import Foundation
import GalaxyTestSupport
import KRXSimulator
import Synchronization
import Testing

/// The `krx-sim` executable as another process sees it: base URL first on stdout, control endpoints, clean exit
/// on SIGTERM.
@Suite struct ExecutableTests {
    /// `krx-sim` sits beside the test bundle in `.build/<config>/`.
    static func executable() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
        ].map { $0.appendingPathComponent("krx-sim") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw LaunchError(description: "krx-sim not found beside the tests (\(candidates.map(\.path))); run swift build first")
        }
        return found
    }

    struct LaunchError: Error, CustomStringConvertible { let description: String }

    /// Exit status and reason, delivered by the termination handler installed before the process runs.
    typealias Exit = AsyncStream<(Int32, Process.TerminationReason)>

    static func watchExit(_ process: Process) -> Exit {
        let (stream, continuation) = Exit.makeStream()
        process.terminationHandler = { process in
            continuation.yield((process.terminationStatus, process.terminationReason))
            continuation.finish()
        }
        return stream
    }

    static func exitStatus(_ exit: Exit) async -> (Int32, Process.TerminationReason)? {
        for await value in exit { return value }
        return nil
    }

    /// Launches `krx-sim` and returns once its first stdout line (the base URL) arrived.
    static func launch(_ arguments: [String], executable: URL? = nil) async throws -> (Process, String, Exit) {
        let process = Process()
        let exit = watchExit(process)
        if let executable {
            process.executableURL = executable
            process.arguments = Array(arguments.dropFirst())
        } else {
            process.executableURL = try Self.executable()
            process.arguments = arguments
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let firstLine = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
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
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return (process, firstLine, exit)
    }

    @Test func printsTheBaseURLServesAndExitsCleanlyOnSIGTERM() async throws {
        let (process, baseURL, exit) = try await Self.launch([
            "--port", "0", "--today", "2024-03-15", "--seed", "12", "--require-login", "--account", "me:pw",
            "--fault", "portal/MDCSTAT04601=error:502@next=1",
        ])
        defer { if process.isRunning { process.terminate() } }
        #expect(baseURL.hasPrefix("http://127.0.0.1:"))
        let health = try await Curl.get(baseURL + "/_sim/health")
        #expect(health.object?["today"] as? String == "2024-03-15")
        #expect(health.object?["seed"] as? Int == 12)
        let logout = try await Curl.run(["--data", form("MDCSTAT04601"), baseURL + "/comm/bldAttendant/getJsonData.cmd"])
        #expect(logout.status == 502)  // the fault rule comes before the login check
        let again = try await Curl.run(["--data", form("MDCSTAT04601"), baseURL + "/comm/bldAttendant/getJsonData.cmd"])
        #expect(again.text == "LOGOUT")
        let stats = try await Curl.get(baseURL + "/_sim/stats")
        #expect(stats.object?["total"] as? Int == 2)

        process.terminate()  // SIGTERM
        let result = await Self.exitStatus(exit)
        #expect(result?.0 == 0 && result?.1 == .exit)
    }

    /// krx-sim as a service account runs it (issue 18): an unprivileged process must serve every connection. With
    /// TCP_NODELAY set at socket level (SO_DEBUG) each accepted connection failed with EACCES and was reset.
    @Test func servesAsAnUnprivilegedUser() async throws {
        let simulator = try Self.executable().path
        let arguments = ["--port", "0", "--today", "2024-03-15", "--seed", "5", "--stocks", "300", "--etfs", "100"]
        // As root, drop to nobody; as anyone else the test already runs unprivileged.
        let launch = getuid() == 0
            ? ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", simulator] + arguments
            : [simulator] + arguments
        let (process, baseURL, exit) = try await Self.launch(launch, executable: URL(fileURLWithPath: launch[0]))
        defer { if process.isRunning { process.terminate() } }
        let health = try await Curl.get(baseURL + "/_sim/health")
        #expect(health.status == 200 && health.object?["seed"] as? Int == 5)
        let prices = try await Curl.portal(
            SimulatorAddress(baseURL: baseURL), form("MDCSTAT01501", "mktId=ALL&trdDd=20240315"), extra: ["--compressed"])
        #expect(prices.status == 200 && prices.exitCode == 0)
        #expect((250...350).contains(prices.rows("OutBlock_1")?.count ?? 0))
        process.terminate()
        let result = await Self.exitStatus(exit)
        #expect(result?.0 == 0 && result?.1 == .exit)
    }

    @Test func exitsCleanlyOnSIGINTToo() async throws {
        let (process, baseURL, exit) = try await Self.launch(["--port", "0", "--quiet"])
        defer { if process.isRunning { process.terminate() } }
        #expect(try await Curl.get(baseURL + "/_sim/health").status == 200)
        process.interrupt()  // SIGINT
        let result = await Self.exitStatus(exit)
        #expect(result?.0 == 0 && result?.1 == .exit)
    }

    @Test func testSupportLauncherStartsAndStopsTheExecutable() async throws {
        let sim = try await KRXSimProcess.launch(["--today", "2024-03-15", "--seed", "3"])
        let health = try await Curl.get(sim.baseURL + "/_sim/health")
        #expect(health.object?["today"] as? String == "2024-03-15")
        #expect(await sim.stop() == 0)
        let refused = try await Curl.get(sim.baseURL + "/_sim/health", ["--max-time", "2"])
        #expect(refused.status == 0 && refused.exitCode != 0)
    }

    @Test func helpDocumentsTheControlEndpoints() async throws {
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = ["--help"]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("krx-sim-help-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: directory.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: directory) }
        let handle = try FileHandle(forWritingTo: directory)
        process.standardOutput = handle
        let exit = Self.watchExit(process)
        try process.run()
        let status = await Self.exitStatus(exit)?.0
        try handle.close()
        let help = try String(contentsOf: directory, encoding: .utf8)
        #expect(status == 0)
        for needle in ["/_sim/stats", "/_sim/faults", "--require-login", "--auth-key", "--today", "--fault"] {
            #expect(help.contains(needle), "help lacks \(needle)")
        }
    }

    @Test func badArgumentsFailWithOneClearLine() async throws {
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = ["--today", "2024-13-45"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let exit = Self.watchExit(process)
        try process.run()
        let status = await Self.exitStatus(exit)?.0
        #expect(status != nil && status != 0)
    }
}
