#if canImport(Glibc)
import Glibc
#endif

/// A time zone's UTC offsets, read from the host's tz database (a TZif file under `$TZDIR` or `/usr/share/zoneinfo`).
///
/// Why not Foundation's `TimeZone`: on Linux a named zone needs FoundationInternationalization and ICU, which cost
/// galaxyd ~8 MiB of resident memory for one question, "what is the offset of Asia/Seoul at this instant". The
/// TZif format (RFC 8536) answers it directly: a table of transitions, and a POSIX TZ rule for the instants after
/// the last one. This is the same data glibc and PostgreSQL use, so the daemon and the database agree on local time.
public struct TimeZoneRules: Sendable, Hashable, CustomStringConvertible {
    /// The IANA name, e.g. `Asia/Seoul`.
    public let identifier: String
    /// UTC seconds at which `offsets[i]` starts to apply, ascending.
    private let transitions: [Int64]
    private let offsets: [Int32]
    /// The offset before the first transition (or always, when there are none).
    private let initialOffset: Int32
    /// The rule for instants after the last transition (the TZif v2+ footer), if the file has one.
    private let footer: PosixTimeZoneRule?

    public var description: String { identifier }

    /// Coordinated Universal Time, always available.
    public static let utc = TimeZoneRules(identifier: "UTC", transitions: [], offsets: [], initialOffset: 0, footer: nil)

    private init(identifier: String, transitions: [Int64], offsets: [Int32], initialOffset: Int32,
                 footer: PosixTimeZoneRule?) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
        self.footer = footer
    }

    /// The zone named `identifier`, or nil when the host's tz database has no such zone (or the name tries to leave
    /// the database directory). `UTC`, `GMT` and `Etc/UTC` need no file.
    public init?(identifier: String) {
        if ["UTC", "GMT", "Etc/UTC", "Etc/GMT", "Z"].contains(identifier) {
            self = TimeZoneRules(identifier: identifier, transitions: [], offsets: [], initialOffset: 0, footer: nil)
            return
        }
        let components = identifier.split(separator: "/", omittingEmptySubsequences: false)
        guard !identifier.isEmpty, !identifier.hasPrefix("/"),
            components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
        else { return nil }
        let directory = getenv("TZDIR").map { String(cString: $0) } ?? "/usr/share/zoneinfo"
        guard let bytes = Self.read(path: directory + "/" + identifier),
            let parsed = TZifFile(bytes)
        else { return nil }
        self.init(
            identifier: identifier, transitions: parsed.transitions, offsets: parsed.offsets,
            initialOffset: parsed.initialOffset, footer: parsed.footer)
    }

    /// Seconds east of UTC in effect at `utcSeconds` (seconds since 1970-01-01T00:00:00Z).
    public func offset(atUTC utcSeconds: Int64) -> Int {
        if let footer, transitions.last.map({ utcSeconds >= $0 }) ?? true {
            return footer.offset(atUTC: utcSeconds)
        }
        // The last transition at or before the instant.
        var low = 0
        var high = transitions.count
        while low < high {
            let middle = (low + high) / 2
            if transitions[middle] <= utcSeconds { low = middle + 1 } else { high = middle }
        }
        return Int(low == 0 ? initialOffset : offsets[low - 1])
    }

    /// The local civil date and time of `utcSeconds` in this zone.
    public func localTime(atUTC utcSeconds: Int64) -> LocalTime {
        LocalTime(secondsSinceEpoch: utcSeconds + Int64(offset(atUTC: utcSeconds)))
    }

    /// The instant (UTC seconds) of a local wall-clock time, or nil when that time does not exist (skipped by a
    /// change to daylight saving time). An ambiguous time (repeated when clocks go back) is its first occurrence.
    public func utcSeconds(of local: LocalTime) -> Int64? {
        let wall = local.secondsSinceEpoch
        // Every offset in effect within a day of the wall time is a candidate; a candidate is right when the offset
        // at the instant it gives is itself.
        let candidates = Set([offset(atUTC: wall - 86_400), offset(atUTC: wall), offset(atUTC: wall + 86_400)])
        let instants = candidates.map { wall - Int64($0) }.filter { offset(atUTC: $0) == Int(wall - $0) }
        return instants.min()
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.identifier == rhs.identifier }
    public func hash(into hasher: inout Hasher) { hasher.combine(identifier) }

    private static func read(path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 1 << 20 { return nil }  // no zone file is this large
        }
        return bytes
    }
}

/// A civil date and time of day, without a zone.
public struct LocalTime: Sendable, Hashable {
    public var date: TradeDate
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(date: TradeDate, hour: Int, minute: Int, second: Int = 0) {
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    init(secondsSinceEpoch seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = Int(seconds - days * 86_400)
        self.init(date: TradeDate(daysSinceEpoch: Int(days)), hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60)
    }

    var secondsSinceEpoch: Int64 {
        Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}

/// The parts of a TZif file (RFC 8536) the offsets need: the 64-bit transition table of version 2+ files (or the
/// 32-bit one of version 1), and the POSIX TZ footer.
private struct TZifFile {
    var transitions: [Int64] = []
    var offsets: [Int32] = []
    var initialOffset: Int32 = 0
    var footer: PosixTimeZoneRule?

    init?(_ bytes: [UInt8]) {
        var reader = ByteReader(bytes: bytes)
        guard let header = reader.header() else { return nil }
        var counts = header.counts
        var timeSize = 4
        if header.version >= 2 {
            // Skip the v1 block; the v2 block after it has 64-bit times.
            guard reader.skip(counts.v1Length), let second = reader.header() else { return nil }
            counts = second.counts
            timeSize = 8
        }
        var times: [Int64] = []
        for _ in 0..<counts.transitions {
            guard let time = timeSize == 8 ? reader.int64() : reader.int32().map(Int64.init) else { return nil }
            times.append(time)
        }
        var indices: [Int] = []
        for _ in 0..<counts.transitions {
            guard let index = reader.byte() else { return nil }
            indices.append(Int(index))
        }
        var types: [(offset: Int32, isDST: Bool)] = []
        for _ in 0..<counts.types {
            guard let offset = reader.int32(), let isDST = reader.byte(), reader.skip(1) else { return nil }
            types.append((offset, isDST != 0))
        }
        guard !types.isEmpty, indices.allSatisfy({ $0 < types.count }) else { return nil }
        transitions = times
        offsets = indices.map { types[$0].offset }
        // RFC 8536 §3.2: local time before the first transition is type 0.
        initialOffset = types[0].offset
        if header.version >= 2 {
            let skip = counts.characters + counts.leapSeconds * (timeSize + 4) + counts.standardFlags + counts.utFlags
            if reader.skip(skip), reader.byte() == UInt8(ascii: "\n"),
                let end = reader.remaining.firstIndex(of: UInt8(ascii: "\n"))
            {
                footer = PosixTimeZoneRule(String(decoding: reader.remaining[..<end], as: UTF8.self))
            }
        }
    }

    private struct Counts {
        var utFlags = 0, standardFlags = 0, leapSeconds = 0, transitions = 0, types = 0, characters = 0
        var v1Length: Int { transitions * 5 + types * 6 + characters + leapSeconds * 8 + standardFlags + utFlags }
    }

    private struct ByteReader {
        let bytes: [UInt8]
        var position = 0
        var remaining: ArraySlice<UInt8> { bytes[position...] }

        mutating func skip(_ count: Int) -> Bool {
            guard count >= 0, position + count <= bytes.count else { return false }
            position += count
            return true
        }
        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }
        mutating func int32() -> Int32? {
            guard position + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[position..<position + 4] { value = value << 8 | UInt32(byte) }
            position += 4
            return Int32(bitPattern: value)
        }
        mutating func int64() -> Int64? {
            guard let high = int32(), let low = int32() else { return nil }
            return Int64(high) << 32 | Int64(UInt32(bitPattern: low))
        }
        mutating func header() -> (version: Int, counts: Counts)? {
            guard position + 44 <= bytes.count, Array(bytes[position..<position + 4]) == Array("TZif".utf8)
            else { return nil }
            let versionByte = bytes[position + 4]
            let version = versionByte == 0 ? 1 : Int(versionByte) - Int(UInt8(ascii: "0"))
            position += 20
            var values: [Int] = []
            for _ in 0..<6 {
                guard let value = int32(), value >= 0 else { return nil }
                values.append(Int(value))
            }
            return (version, Counts(
                utFlags: values[0], standardFlags: values[1], leapSeconds: values[2], transitions: values[3],
                types: values[4], characters: values[5]))
        }
    }
}

/// A POSIX TZ rule such as `KST-9` or `EST5EDT,M3.2.0,M11.1.0` (the footer of a TZif file): the offsets after the
/// last listed transition. Offsets in POSIX are west of UTC; this type answers east of UTC like everything else.
struct PosixTimeZoneRule: Sendable {
    var standardOffset: Int
    var daylight: (offset: Int, start: Transition, end: Transition)?

    /// When daylight time starts or ends: a day rule plus a local time of day (seconds, may be negative or > 24 h).
    struct Transition: Sendable {
        enum Day: Sendable {
            /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
            case monthWeekDay(month: Int, week: Int, weekday: Int)
            /// `Jn`: day 1…365, February 29 never counted.
            case julianNoLeap(Int)
            /// `n`: day 0…365, February 29 counted in leap years.
            case zeroBased(Int)
        }
        var day: Day
        var time: Int

        func localSeconds(in year: Int) -> Int64 {
            let first = TradeDate(year: year, month: 1, day: 1)!.daysSinceEpoch
            let dayNumber: Int
            switch day {
            case .monthWeekDay(let month, let week, let weekday):
                let firstOfMonth = TradeDate(year: year, month: month, day: 1)!
                // TradeDate.weekday: 1 = Monday … 7 = Sunday; POSIX: 0 = Sunday.
                let firstWeekday = firstOfMonth.weekday % 7
                var day = 1 + (weekday - firstWeekday + 7) % 7 + (week - 1) * 7
                let length = TradeDate.daysIn(month: month, year: year)
                while day > length { day -= 7 }
                dayNumber = firstOfMonth.daysSinceEpoch + day - 1
            case .julianNoLeap(let n):
                dayNumber = first + n - 1 + (TradeDate.isLeap(year) && n >= 60 ? 1 : 0)
            case .zeroBased(let n):
                dayNumber = first + n
            }
            return Int64(dayNumber) * 86_400 + Int64(time)
        }
    }

    init?(_ text: String) {
        var scanner = Scanner(Array(text.utf8))
        guard scanner.name(), let standard = scanner.offset() else { return nil }
        standardOffset = -standard
        if scanner.atEnd {
            daylight = nil
            return
        }
        guard scanner.name() else { return nil }
        let daylightOffset = scanner.peek == UInt8(ascii: ",") ? standardOffset + 3600 : (scanner.offset().map { -$0 })
        guard let daylightOffset, scanner.consume(","), let start = scanner.transition(), scanner.consume(","),
            let end = scanner.transition(), scanner.atEnd
        else { return nil }
        daylight = (daylightOffset, start, end)
    }

    func offset(atUTC utcSeconds: Int64) -> Int {
        guard let daylight else { return standardOffset }
        let year = LocalTime(secondsSinceEpoch: utcSeconds + Int64(standardOffset)).date.year
        // Start is given in standard (local) time, end in daylight time.
        let start = daylight.start.localSeconds(in: year) - Int64(standardOffset)
        let end = daylight.end.localSeconds(in: year) - Int64(daylight.offset)
        let inDaylight = start < end
            ? (utcSeconds >= start && utcSeconds < end)  // northern hemisphere
            : !(utcSeconds >= end && utcSeconds < start)  // southern: daylight spans the new year
        return inDaylight ? daylight.offset : standardOffset
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position == bytes.count }
        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func consume(_ character: Character) -> Bool {
            guard let ascii = character.asciiValue, peek == ascii else { return false }
            position += 1
            return true
        }
        /// `EST` or `<+09>`.
        mutating func name() -> Bool {
            if consume("<") {
                while let byte = peek, byte != UInt8(ascii: ">") { position += 1 }
                return consume(">")
            }
            let start = position
            while let byte = peek, (byte | 0x20) >= UInt8(ascii: "a"), (byte | 0x20) <= UInt8(ascii: "z") {
                position += 1
            }
            return position - start >= 3
        }
        mutating func number() -> Int? {
            var value: Int?
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                value = (value ?? 0) * 10 + Int(byte - UInt8(ascii: "0"))
                position += 1
            }
            return value
        }
        /// `[+-]hh[:mm[:ss]]` in seconds.
        mutating func offset() -> Int? {
            let sign = consume("-") ? -1 : (consume("+") ? 1 : 1)
            guard let hours = number() else { return nil }
            var seconds = hours * 3600
            if consume(":") {
                guard let minutes = number() else { return nil }
                seconds += minutes * 60
                if consume(":") {
                    guard let rest = number() else { return nil }
                    seconds += rest
                }
            }
            return sign * seconds
        }
        mutating func transition() -> Transition? {
            let day: Transition.Day
            if consume("M") {
                guard let month = number(), consume("."), let week = number(), consume("."), let weekday = number(),
                    (1...12).contains(month), (1...5).contains(week), (0...6).contains(weekday)
                else { return nil }
                day = .monthWeekDay(month: month, week: week, weekday: weekday)
            } else if consume("J") {
                guard let n = number(), (1...365).contains(n) else { return nil }
                day = .julianNoLeap(n)
            } else {
                guard let n = number(), (0...365).contains(n) else { return nil }
                day = .zeroBased(n)
            }
            var time = 7200
            if consume("/") {
                guard let seconds = offset() else { return nil }
                time = seconds
            }
            return Transition(day: day, time: time)
        }
    }
}
