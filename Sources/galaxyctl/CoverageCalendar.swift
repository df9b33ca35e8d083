import GalaxyCore
import GalaxyRPC

/// Draws `coverage` as a contribution graph: per dataset, one block per year with a column per week (Monday on top)
/// and a cell per day, the year's totals in its heading. A year is at most 54 weeks of two columns plus the weekday
/// labels: 112 columns, so a 25-year range is 25 blocks of ten lines, each one screen wide.
struct CoverageCalendar {
    var report: CoverageReport
    /// ANSI colours (a terminal that is not `dumb`, `NO_COLOR` unset); letters otherwise.
    var colour: Bool

    /// A cell's look, plain and coloured.
    static func cell(_ day: CoverageDay?, colour: Bool) -> String {
        guard let day else { return " " }
        guard colour else {
            switch day {
            case .collected: return "#"
            case .noSession: return "."
            case .failed: return "F"
            case .pending: return "?"
            case .missing: return "_"
            }
        }
        switch day {
        case .collected: return "\u{1B}[32m■\u{1B}[0m"
        case .noSession: return "\u{1B}[90m·\u{1B}[0m"
        case .failed: return "\u{1B}[1;31m■\u{1B}[0m"
        case .pending: return "\u{1B}[33m■\u{1B}[0m"
        case .missing: return "\u{1B}[35m□\u{1B}[0m"
        }
    }

    func render() -> [String] {
        var lines: [String] = []
        for dataset in report.datasets {
            for year in dataset.years {
                lines += block(dataset.dataset, year)
                lines.append("")
            }
            if dataset.years.count > 1, let first = dataset.years.first, let last = dataset.years.last {
                lines.append("\(dataset.dataset) \(first.year)–\(last.year): \(Self.totals(dataset.totals))")
                lines.append("")
            }
        }
        lines.append(legend)
        return lines
    }

    var legend: String {
        let entries: [(CoverageDay, String)] = [
            (.collected, "collected"), (.noSession, "no session"), (.failed, "failed"), (.pending, "pending"),
            (.missing, "missing (no ledger row)"),
        ]
        return "legend: " + entries.map { "\(Self.cell($0.0, colour: colour)) \($0.1)" }.joined(separator: "  ")
            + "  (through \(report.through))"
    }

    /// `240 collected, 3 failed, …`: every kind, zeros included, so years line up when read one under another.
    static func totals(_ totals: CoverageTotals) -> String {
        "\(Format.count(totals.collected)) collected, \(Format.count(totals.noSession)) no session, "
            + "\(Format.count(totals.failed)) failed, \(Format.count(totals.pending)) pending, "
            + "\(Format.count(totals.missing)) missing"
    }

    /// A year: heading with totals, month names over their first week, then Monday … Sunday.
    func block(_ dataset: String, _ year: YearCoverage) -> [String] {
        guard let january1 = TradeDate(year: year.year, month: 1, day: 1) else { return [] }
        let offset = january1.weekday - 1  // days of week 0 before January 1st
        let daysInYear = TradeDate.isLeap(year.year) ? 366 : 365
        let weeks = (offset + daysInYear + 6) / 7
        var grid = [[CoverageDay?]](repeating: [CoverageDay?](repeating: nil, count: weeks), count: 7)
        for (index, letter) in year.days.enumerated() {
            let position = offset + index
            grid[position % 7][position / 7] = CoverageDay(rawValue: letter)
        }
        var months = [Character](repeating: " ", count: weeks * 2)
        let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        for month in 1...12 {
            guard let first = TradeDate(year: year.year, month: month, day: 1) else { continue }
            let column = (offset + first.daysSinceEpoch - january1.daysSinceEpoch) / 7 * 2
            for (index, character) in names[month - 1].enumerated() where column + index < months.count {
                months[column + index] = character
            }
        }
        var monthLine = "    " + String(months)
        while monthLine.last == " " { monthLine.removeLast() }
        var lines = ["\(year.year) \(dataset): \(Self.totals(year.totals))", monthLine]
        let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        for (row, cells) in grid.enumerated() {
            var line = weekdays[row]
            for day in cells { line += " " + Self.cell(day, colour: colour) }
            while line.last == " " { line.removeLast() }
            lines.append(line)
        }
        return lines
    }
}
