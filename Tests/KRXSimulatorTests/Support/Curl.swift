import Foundation
import KRXSimulator
import Testing

/// A response as a real HTTP client (curl) saw it.
struct HTTPResult {
    /// HTTP status; 0 when no response arrived (timeout, refused).
    let status: Int
    /// Headers of the final response, names lowercased, in order.
    let headers: [(String, String)]
    let body: [UInt8]
    /// curl's exit code: 0 ok, 18 partial body, 28 timeout, 7 refused.
    let exitCode: Int32
    /// Wall time of the whole transfer.
    let seconds: Double
    /// Bytes received on the wire for the body (compressed size when gzip was used).
    let downloadedBytes: Int
    /// curl's raw `-w` output (for tests that pass their own `-w`).
    let writeOut: String

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }
    func headers(named name: String) -> [String] { headers.filter { $0.0 == name.lowercased() }.map(\.1) }

    /// The body as a JSON object (nil when it does not parse).
    var object: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }

    /// Rows under `key`.
    func rows(_ key: String) -> [[String: String]]? {
        (object?[key] as? [Any])?.compactMap { $0 as? [String: String] }
    }

    /// Field names of the first row in wire order (JSONSerialization forgets the order, so read the bytes).
    func firstRowFieldOrder() -> [String] {
        let text = self.text
        guard let open = text.range(of: "[{"), let close = text.range(of: "}", range: open.upperBound..<text.endIndex)
        else { return [] }
        let row = String(text[open.lowerBound..<close.upperBound])
        let pattern = try! NSRegularExpression(pattern: "[{,]\"([A-Za-z0-9_]+)\":\"")
        return pattern.matches(in: row, range: NSRange(row.startIndex..., in: row)).compactMap {
            Range($0.range(at: 1), in: row).map { String(row[$0]) }
        }
    }
}

/// Drives `/usr/bin/curl` as the client: a real HTTP stack that shares nothing with the simulator. The process
/// is awaited through its termination handler, so no cooperative thread blocks.
enum Curl {
    static func run(_ arguments: [String]) async throws -> HTTPResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("krx-sim-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bodyPath = directory.appendingPathComponent("body").path
        let headerPath = directory.appendingPathComponent("headers").path
        let statusPath = directory.appendingPathComponent("status").path
        _ = FileManager.default.createFile(atPath: statusPath, contents: nil)
        let statusHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: statusPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-o", bodyPath, "-D", headerPath, "-w", "%{http_code} %{size_download}"] + arguments
        process.standardOutput = statusHandle
        process.standardError = FileHandle.nullDevice
        let started = Date()
        let exitCode: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let seconds = Date().timeIntervalSince(started)
        try statusHandle.close()
        let rawWriteOut = (try? String(contentsOfFile: statusPath, encoding: .utf8)) ?? ""
        let writeOut = rawWriteOut.split(separator: " ")
        let status = writeOut.first.flatMap { Int($0) } ?? 0
        let downloaded = writeOut.count > 1 ? Int(writeOut[1]) ?? 0 : 0
        let body = (try? Data(contentsOf: URL(fileURLWithPath: bodyPath))).map { [UInt8]($0) } ?? []
        let rawHeaders = (try? String(contentsOfFile: headerPath, encoding: .utf8)) ?? ""
        let blocks = rawHeaders.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }
        var headers: [(String, String)] = []
        for line in (blocks.last ?? "").components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return HTTPResult(status: status, headers: headers, body: body, exitCode: exitCode, seconds: seconds,
            downloadedBytes: downloaded, writeOut: rawWriteOut)
    }

    /// `POST /comm/bldAttendant/getJsonData.cmd` with a form, as pykrx sends it.
    static func portal(
        _ sim: some SimulatorEndpoint, _ form: String, jar: String? = nil, extra: [String] = []
    ) async throws -> HTTPResult {
        var arguments = [
            "-H", "Referer: https://data.krx.co.kr/contents/MDC/MDI/outerLoader/index.cmd",
            "-H", "X-Requested-With: XMLHttpRequest", "--data", form,
        ]
        if let jar { arguments += ["-b", jar, "-c", jar] }
        return try await run(arguments + extra + [sim.baseURL + "/comm/bldAttendant/getJsonData.cmd"])
    }

    static func get(_ url: String, _ extra: [String] = []) async throws -> HTTPResult {
        try await run(extra + [url])
    }
}

/// Where a simulator listens: one in this process, or a `krx-sim` process.
protocol SimulatorEndpoint {
    var baseURL: String { get }
}

extension KRXSimulator: SimulatorEndpoint {}

struct SimulatorAddress: SimulatorEndpoint {
    let baseURL: String
}

/// Cookie-jar files for one test, removed when the test lets go of it.
final class CookieJars {
    private var paths: [String] = []

    /// A fresh path for a curl cookie jar (`-b`/`-c`).
    func make() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("krx-sim-jar-\(UUID().uuidString)").path
        paths.append(path)
        return path
    }

    deinit {
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Starts a simulator for one test and always shuts it down.
func withSimulator<T>(
    _ configuration: SimulatorConfiguration, _ body: (KRXSimulator) async throws -> T
) async throws -> T {
    var configuration = configuration
    configuration.threads = 1
    let sim = try await KRXSimulator.start(configuration)
    do {
        let result = try await body(sim)
        try await sim.shutdown()
        return result
    } catch {
        try? await sim.shutdown()
        throw error
    }
}

extension SimDate {
    /// Test shorthand: a date literal that must parse.
    static func on(_ text: String) -> SimDate {
        guard let date = SimDate(text) else { fatalError("bad test date \(text)") }
        return date
    }
}

/// Screen form for a `bld` suffix.
func form(_ screen: String, _ fields: String = "") -> String {
    let bld = screen.hasPrefix("finder") ? "dbms/comm/finder/\(screen)" : "dbms/MDC/STAT/standard/\(screen)"
    return (fields.isEmpty ? "" : fields + "&") + "bld=" + bld
}

/// `1234567` → `"1,234,567"`, written independently of the simulator's formatter.
func grouped(_ value: Int64) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (value < 0 ? "-" : "") + out
}
