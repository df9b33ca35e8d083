/// Writes metric families in the Prometheus text exposition format (version 0.0.4): what `metrics` answers and what
/// node_exporter's textfile collector reads from `GALAXY_METRICS_FILE`.
///
/// Kept to what galaxy needs — counters, gauges and histograms with fixed buckets — and strict about the format's
/// rules: one `# HELP` and `# TYPE` per family, escaped label values, `+Inf`/`-Inf`/`NaN` spelled as Prometheus
/// spells them, and every histogram ending in its `+Inf` bucket, `_sum` and `_count`.
struct PrometheusText {
    enum Kind: String {
        case counter, gauge, histogram
    }

    private(set) var text = ""
    private var declared = Set<String>()
    /// The current family's `# HELP`/`# TYPE` lines, written with its first sample: a family without samples is left
    /// out (parsers disagree about a header with nothing under it).
    private var header: String?

    /// Declares a family; samples follow with ``sample(_:_:_:)`` or ``histogram(_:_:_:)``.
    mutating func family(_ name: String, _ kind: Kind, help: String) {
        precondition(declared.insert(name).inserted, "metric family \(name) declared twice")
        header = "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line.
    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        if let header {
            text += header
            self.header = nil
        }
        text += name + Self.labelText(labels) + " " + Self.number(value) + "\n"
    }

    /// A histogram's series for one label set: cumulative buckets, `+Inf`, sum and count.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ histogram: Histogram) {
        var cumulative = 0
        for (bound, count) in zip(histogram.bounds, histogram.counts) {
            cumulative += count
            sample(name + "_bucket", labels + [("le", Self.number(bound))], Double(cumulative))
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, Double(histogram.count))
    }

    static func labelText(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// Integers without a fraction (`3`, not `3.0`), the special values as Prometheus writes them.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}

/// A histogram with fixed upper bounds (seconds, for galaxy's durations).
struct Histogram: Sendable, Equatable {
    let bounds: [Double]
    /// Observations per bucket, not cumulative; the last `+Inf` bucket is `count` minus their sum.
    private(set) var counts: [Int]
    private(set) var sum: Double = 0
    private(set) var count = 0

    init(bounds: [Double]) {
        self.bounds = bounds.sorted()
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        sum += value
        count += 1
    }

    /// Runs: a daily run takes seconds to minutes, a 25-year backfill hours.
    static let runSeconds: [Double] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 28_800, 86_400]
    /// Tasks: one collector's work, retries included; a daily day is seconds, a yearly backfill chunk an hour.
    static let taskSeconds: [Double] = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 10_800, 21_600]
}
