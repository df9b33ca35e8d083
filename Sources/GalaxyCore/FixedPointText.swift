extension Double {
    /// Fixed notation with `digits` decimals (`3.14159.fixed(1)` is `"3.1"`), like `String(format: "%.1f")` but
    /// without Foundation, which galaxyd does not link. For logs and messages; NaN and infinities print as Swift does.
    public func fixed(_ digits: Int) -> String {
        guard isFinite else { return "\(self)" }
        var scale: Int64 = 1
        for _ in 0..<max(0, min(digits, 15)) { scale *= 10 }
        let scaled = (self * Double(scale)).rounded()
        guard abs(scaled) < 9e18 else { return "\(self)" }
        let units = Int64(scaled)
        let sign = units < 0 ? "-" : ""
        let whole = abs(units) / scale
        guard scale > 1 else { return "\(sign)\(whole)" }
        let fraction = String(abs(units) % scale)
        return "\(sign)\(whole).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
    }
}
