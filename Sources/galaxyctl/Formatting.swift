import Foundation

/// Small, locale-independent formatting for galaxyctl's human output.
enum Format {
    /// `1234567` → `1,234,567`.
    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// Seconds as `45s`, `3m 05s`, `2h 03m`, `3d 04h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total < 60 {
            return seconds < 10 && seconds != seconds.rounded() ? String(format: "%.1fs", seconds) : "\(total)s"
        }
        let (days, hours, minutes, secs) = (total / 86_400, total % 86_400 / 3_600, total % 3_600 / 60, total % 60)
        if days > 0 { return "\(days)d \(pad(hours))h" }
        if hours > 0 { return "\(hours)h \(pad(minutes))m" }
        return "\(minutes)m \(pad(secs))s"
    }

    /// A rate with one decimal below 100.
    static func rate(_ perSecond: Double) -> String {
        guard perSecond.isFinite else { return "?" }
        return perSecond < 100 ? String(format: "%.1f", perSecond) : count(Int(perSecond.rounded()))
    }

    /// `done/total` as a percentage, `–` without a total.
    static func percent(_ done: Int, of total: Int) -> String {
        guard total > 0 else { return "–" }
        return "\(min(100, done * 100 / total))%"
    }

    /// An RFC 3339 time as `2026-11-27 18:00:00` in `zone` (default: this machine's), `–` for none. Unparsable text
    /// is shown as it came.
    static func time(_ rfc3339: String?, in zone: TimeZone = .current) -> String {
        guard let rfc3339 else { return "–" }
        guard let date = parseTime(rfc3339) else { return rfc3339 }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }

    /// How long ago an RFC 3339 time was, relative to `now`.
    static func ago(_ rfc3339: String?, now: Date = Date()) -> String {
        guard let rfc3339, let date = parseTime(rfc3339) else { return "–" }
        return duration(max(0, now.timeIntervalSince(date))) + " ago"
    }

    static func parseTime(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }

    /// Left-aligned columns with two spaces between them; the last column is not padded.
    static func table(_ rows: [[String]], indent: String = "  ") -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            var line = indent
            for (index, cell) in row.enumerated() {
                line += cell
                if index < row.count - 1 { line += String(repeating: " ", count: widths[index] - cell.count + 2) }
            }
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
