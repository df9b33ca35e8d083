import ArgumentParser
import Foundation
import GalaxyCore
import GalaxyKRX

/// Compares the ways of reading a KRX whole-market answer: Foundation's `JSONSerialization` into `[String: Any]`
/// (GalaxyKRX's first parser) and GalaxyCore's strict `JSONValue` tree (its second), both up to the rows as
/// dictionaries of strings, and the whole `KRXPortalParser.prices` (what it uses now: a byte-level scanner that builds
/// no tree and reads numbers straight from the bytes, up to typed rows) for the per-day cost.
struct Parse: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Times parsing one KRX answer body (a file): JSONSerialization, JSONValue, and the portal parser.",
        discussion: """
            Fetch a body from krx-sim first, e.g. `krx-sim --port 0` (its URL is the first stdout line), then
            curl -s -d 'bld=dbms/MDC/STAT/standard/MDCSTAT01501&mktId=ALL&trdDd=20250102' \
            URL/comm/bldAttendant/getJsonData.cmd > body.json
            """)

    @Argument(help: "A file holding one whole-market MDCSTAT01501 (prices) answer.")
    var body: String

    @Option(help: "The top-level list key of the screen.")
    var key = "OutBlock_1"

    @Option(help: "Parses per method (after one warm-up parse each).")
    var repetitions = 20

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
    }

    func run() throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: body)))
        print("galaxy-bench parse: \(bytes.count) bytes, \(repetitions) repetitions per method")

        let foundationRows = try Self.foundationRows(bytes, key: key)
        let coreRows = try Self.coreRows(bytes, key: key)
        guard foundationRows == coreRows else {
            throw ValidationError("the two parsers disagree: \(foundationRows) vs \(coreRows) string fields")
        }
        print("  rows: \(coreRows) string fields in the \"\(key)\" list")

        let old = try Self.time(repetitions) { _ = try Self.foundationRows(bytes, key: key) }
        let new = try Self.time(repetitions) { _ = try Self.coreRows(bytes, key: key) }
        let full = try Self.time(repetitions) { _ = try KRXPortalParser.prices(bytes) }
        print(String(format: "  JSONSerialization → [String: Any]  %8.2f ms/day", old * 1000))
        print(String(format: "  JSONValue(parsing:) → [String: JSONValue] %8.2f ms/day", new * 1000))
        print(String(format: "  KRXPortalParser.prices (byte scanner + typed rows) %8.2f ms/day", full * 1000))
        print(String(format: "  ratio JSONSerialization / JSONValue: %.1f×", old / new))
    }

    /// Mean seconds per call over `count` calls, after one warm-up call.
    static func time(_ count: Int, _ work: () throws -> Void) throws -> Double {
        try work()
        let started = Date()
        for _ in 0..<count { try work() }
        return Date().timeIntervalSince(started) / Double(count)
    }

    /// The old path: `JSONSerialization`, then the list of row objects and their string fields (counted).
    static func foundationRows(_ bytes: [UInt8], key: String) throws -> Int {
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        guard let top = object as? [String: Any], let list = top[key] as? [Any] else {
            throw ValidationError("no \"\(key)\" list in the body")
        }
        var strings = 0
        for element in list {
            guard let row = element as? [String: Any] else { throw ValidationError("a row is not an object") }
            for value in row.values where value is String { strings += 1 }
        }
        return strings
    }

    /// The new path: `JSONValue(parsing:)`, then the same walk.
    static func coreRows(_ bytes: [UInt8], key: String) throws -> Int {
        let value = try JSONValue(parsing: bytes)
        guard case .array(let list) = value[key] else { throw ValidationError("no \"\(key)\" list in the body") }
        var strings = 0
        for element in list {
            guard case .object(let row) = element else { throw ValidationError("a row is not an object") }
            for value in row.values where value.stringValue != nil { strings += 1 }
        }
        return strings
    }
}
