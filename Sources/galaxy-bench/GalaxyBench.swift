import ArgumentParser
import Foundation
import GalaxyCore
import GalaxyPostgres

/// Benchmarks that print figures (they are not timed tests). Run in release mode: `scripts/bench.sh` runs them all
/// (`scripts/bench-ingest.sh` runs `ingest` alone).
@main
struct GalaxyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "galaxy-bench",
        abstract: "Measures galaxy's hot paths against a real PostgreSQL and prints the figures.",
        subcommands: [Ingest.self, StatusLatency.self, SpawnReady.self, Parse.self])
}

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upserts synthetic price days through the write path and compares with psql \\copy of the same rows.")

    @Option(help: "Number of synthetic trading days.")
    var days = 20

    @Option(help: "Rows per day (KRX lists about 2,800 stocks).")
    var rows = 2_800

    @Option(
        help: """
            PostgreSQL URL or conninfo of the cluster (default: GALAXY_DATABASE_URL). A fresh database is created \
            on it for the run and dropped afterwards.
            """)
    var databaseURL: String?

    @Option(help: "The psql executable used for the \\copy baseline.")
    var psql = "psql"

    @Option(
        name: .customLong("repeat"),
        help: "Runs of the comparison (write path and psql \\copy take turns going first); the median counts.")
    var repeats = 3

    @Flag(help: "Keep the benchmark database instead of dropping it.")
    var keepDatabase = false

    func validate() throws {
        guard days >= 1, rows >= 1, repeats >= 1 else {
            throw ValidationError("--days, --rows and --repeat must be at least 1")
        }
    }

    func run() throws {
        let clusterURL = databaseURL ?? ProcessInfo.processInfo.environment["GALAXY_DATABASE_URL"]
        let admin = try Connection(url: clusterURL)
        let name = "galaxy_bench_\(getpid())_\(Int(Date().timeIntervalSince1970))"
        try admin.executeScript("CREATE DATABASE \(Connection.quoteIdentifier(name))")
        defer {
            if !keepDatabase {
                try? admin.executeScript("DROP DATABASE IF EXISTS \(Connection.quoteIdentifier(name)) WITH (FORCE)")
            }
            admin.close()
        }
        let target = admin.target
        let connection = try Connection(url: target.conninfo(replacing: ["dbname": name]))
        defer { connection.close() }
        try Migrator().migrate(connection)
        let version = try connection.query("SHOW server_version").scalar(as: String.self)
        let total = days * rows
        let dates = Self.tradingDays(count: days)
        print("galaxy-bench ingest: \(days) days × \(rows) rows = \(total) rows, PostgreSQL \(version)")

        // The rows are made before the clock starts: we measure storing, not generating.
        let dayRows = dates.indices.map { Self.syntheticDay($0, rows: rows) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).copy").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Self.writeCopyFile(file, dates: dates, dayRows: dayRows)
        try connection.executeScript("CREATE TABLE prices_copy (LIKE prices INCLUDING ALL)")
        let columns = Self.copyColumns.joined(separator: ", ")
        let writer = DayWriter(connection)
        let backend = connection.backendPID

        // 1. The write path, one transaction per day, as collectors run it: every day is new.
        func writeNewDays() throws -> Phase {
            try phase(backend) {
                for (date, rows) in zip(dates, dayRows) {
                    let result = try writer.storeCollected(.prices(rows), date: date)
                    guard result.path == .copiedIntoTable else {
                        throw ValidationError("\(date) was stored by \(result.path), expected the fast path")
                    }
                }
            }
        }
        // 2. The same days again: the idempotent re-run (nothing changes, nothing is rewritten).
        func reRun() throws -> Phase {
            try phase(backend) {
                for (date, rows) in zip(dates, dayRows) {
                    let result = try writer.storeCollected(.prices(rows), date: date)
                    guard result.rowsChanged == 0 else {
                        throw ValidationError("re-run of \(date) changed \(result.rowsChanged) rows; expected none")
                    }
                }
            }
        }
        // 3. The baseline: psql \copy of the same rows from a file into an empty table of the same shape.
        func copyBaseline() throws -> Phase {
            let measured = try phase(backend) {
                try runPSQL(
                    target: target, database: name, command: "\\copy prices_copy (\(columns)) FROM '\(file)'")
            }
            let copied = try connection.query("SELECT count(*) FROM prices_copy").scalar(as: Int.self)
            guard copied == total else { throw ValidationError("psql copied \(copied) rows, expected \(total)") }
            return measured
        }

        // Runs alternate which side goes first, so a change in the machine's load (other builds on the same
        // cores) does not always fall on the same side; the summary is the median run of each.
        var runs: [(write: Phase, again: Phase, copy: Phase)] = []
        for run in 1...repeats {
            if run > 1 { try connection.executeScript("TRUNCATE prices, collection_days, prices_copy") }
            var copy: Phase?
            if run % 2 == 0 { copy = try copyBaseline() }
            let write = try writeNewDays()
            let again = try reRun()
            if copy == nil { copy = try copyBaseline() }
            runs.append((write, again, copy!))
            print(
                String(
                    format: "run %d of %d: new days %.1f ms/day (CPU client %.1f, server %.1f), re-run %.1f ms/day "
                        + "(CPU client %.1f, server %.1f), \\copy baseline %.1f ms/day; ratio %.2f",
                    run, repeats, perDay(write.seconds), perDay(write.client), perDay(write.server ?? .nan),
                    perDay(again.seconds), perDay(again.client), perDay(again.server ?? .nan),
                    perDay(copy!.seconds), copy!.seconds / write.seconds))
        }

        // Same rows in both tables, or the comparison means nothing.
        let differences = try connection.query(
            """
            SELECT count(*) FROM (
                (SELECT \(columns) FROM prices EXCEPT SELECT \(columns) FROM prices_copy)
                UNION ALL
                (SELECT \(columns) FROM prices_copy EXCEPT SELECT \(columns) FROM prices)) d
            """
        ).scalar(as: Int.self)
        guard differences == 0 else { throw ValidationError("the two tables differ in \(differences) rows") }

        // Server CPU of the same rows as one server-side COPY from the file (no client at all), on our own backend
        // whose CPU time we can read: load on the machine does not change CPU time, so this comparison holds
        // when the wall-clock ratio above wanders with other builds. Needs a local server that can read the file.
        try connection.executeScript("CREATE TABLE prices_server_copy (LIKE prices INCLUDING ALL)")
        if let serverCopy = try? phase(backend, {
            try connection.executeScript(
                "COPY prices_server_copy (\(columns)) FROM \(Self.quoteLiteral(file))")
        }), let copyCPU = serverCopy.server {
            let writeCPU = median(runs.compactMap(\.write.server))
            print(
                String(
                    format: "server CPU per day: write path %.1f ms (median), one server-side COPY of the file %.1f ms; "
                        + "ratio %.2f",
                    perDay(writeCPU), perDay(copyCPU), copyCPU / writeCPU))
        }

        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let first = median(runs.map(\.write.seconds))
        let again = median(runs.map(\.again.seconds))
        let copy = median(runs.map(\.copy.seconds))
        let suffix = repeats > 1 ? "; median of \(repeats)" : ""
        report("write path (COPY into table, new days, 1 txn/day\(suffix))", rows: total, seconds: first)
        report("write path re-run (COPY → temp → upsert\(suffix))", rows: total, seconds: again)
        report("psql \\copy (one file, empty table\(suffix))", rows: total, seconds: copy)
        let ratios = runs.map { String(format: "%.2f", $0.copy.seconds / $0.write.seconds) }.joined(separator: ", ")
        print(String(format: "ratio write path / psql \\copy: %.2f (psql \\copy is %.1f× faster); per run: %@",
            copy / first, first / copy, ratios))
    }

    /// `text` as a SQL string literal (the file path of the server-side COPY; it has no quotes, but be safe).
    static func quoteLiteral(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// Wall time and CPU time (this process; the server backend when the server is local) of one phase.
    struct Phase {
        var seconds: Double
        var client: Double
        var server: Double?
    }

    private func phase(_ backend: Int32, _ body: () throws -> Void) throws -> Phase {
        let before = CPUUsage(backend: backend)
        let seconds = try measure(body)
        let after = CPUUsage(backend: backend)
        let server = after.server.flatMap { end in before.server.map { end - $0 } }
        return Phase(seconds: seconds, client: after.client - before.client, server: server)
    }

    private func perDay(_ seconds: Double) -> Double { seconds * 1000 / Double(days) }

    private func measure(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func report(_ label: String, rows: Int, seconds: Double) {
        let padded = label.padding(toLength: 66, withPad: " ", startingAt: 0)
        print(String(format: "%@ %8d rows in %7.3f s = %9.0f rows/s (%.1f ms/day)",
            padded, rows, seconds, Double(rows) / seconds, seconds * 1000 / Double(days)))
    }

    /// Runs psql with the password (if any) in its environment, never on its command line.
    private func runPSQL(target: ConnectionTarget, database: String, command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            psql, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
            "--dbname", target.conninfo(replacing: ["dbname": database], includingPassword: false),
            "--command", command,
        ]
        var environment = ProcessInfo.processInfo.environment
        if let password = target.secretPassword { environment["PGPASSWORD"] = password.revealed }
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("psql exited with status \(process.terminationStatus)")
        }
    }

    // MARK: - Synthetic data

    static let copyColumns = [
        "ticker", "date", "isin", "name", "market", "open", "high", "low", "close", "change", "change_rate",
        "change_code", "volume", "value", "market_cap", "shares",
    ]

    /// Weekdays from 2024-01-02 on (the benchmark does not need a real calendar).
    static func tradingDays(count: Int) -> [TradeDate] {
        var dates: [TradeDate] = []
        var date = TradeDate(year: 2024, month: 1, day: 2)!
        while dates.count < count {
            if !date.isWeekend { dates.append(date) }
            date = date.next
        }
        return dates
    }

    /// A day of prices shaped like KRX's: Korean names, a few halted stocks (0 OHLC), a few "-" (NULL) fields.
    static func syntheticDay(_ day: Int, rows: Int) -> [PriceRow] {
        (0..<rows).map { index in
            var generator = SplitMix(seed: UInt64(day) &* 1_000_003 &+ UInt64(index))
            let base = Int64(1_000 + index * 37 % 500_000)
            let close = base + Int64(generator.next() % 2_000)
            let halted = index % 97 == 13
            let volume = halted ? 0 : Int64(generator.next() % 10_000_000)
            return PriceRow(
                ticker: String(format: "%06d", index), isin: String(format: "KR7%06d003", index),
                name: "합성종목 \(index)", market: index % 3 == 0 ? "KSQ" : "STK",
                open: halted ? 0 : close - 50, high: halted ? 0 : close + 120, low: halted ? 0 : close - 130,
                close: close, change: Int64(generator.next() % 400) - 200,
                changeRate: Decimal(Int(generator.next() % 3000) - 1500) / 100,
                changeCode: halted ? "0" : String(generator.next() % 3 + 1), volume: volume, value: volume * close,
                marketCap: index % 41 == 5 ? nil : close * 10_000_000, shares: 10_000_000)
        }
    }

    static func writeCopyFile(_ path: String, dates: [TradeDate], dayRows: [[PriceRow]]) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw ValidationError("cannot write \(path)") }
        defer { try? handle.close() }
        for (date, rows) in zip(dates, dayRows) {
            var text = ""
            for row in rows {
                let fields: [(any PostgresEncodable)?] = [
                    row.ticker, date, row.isin, row.name, row.market, row.open, row.high, row.low, row.close,
                    row.change, row.changeRate, row.changeCode, row.volume, row.value, row.marketCap, row.shares,
                ]
                text += fields.map { $0.map { CopyWriter.escape($0.postgresText) } ?? "\\N" }.joined(separator: "\t")
                text += "\n"
            }
            try handle.write(contentsOf: Data(text.utf8))
        }
    }
}

/// CPU seconds (user + system) of this process and, when the server runs on this machine, of one backend.
struct CPUUsage {
    let backend: Int32
    let client: Double
    let server: Double?

    init(backend: Int32) {
        self.backend = backend
        client = Self.seconds(statPath: "/proc/self/stat") ?? 0
        server = Self.seconds(statPath: "/proc/\(backend)/stat")
    }

    /// utime + stime from `/proc/<pid>/stat` (fields 14 and 15, after the parenthesised command name).
    static func seconds(statPath: String) -> Double? {
        guard let text = try? String(contentsOfFile: statPath, encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// A tiny deterministic generator, so every run (and both sides of the comparison) see the same rows.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
