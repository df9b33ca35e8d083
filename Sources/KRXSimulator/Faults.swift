import Synchronization

/// A misbehaviour the simulator can inject, each one something KRX (or the network in front of it) really does.
public enum SimulatedFault: Sendable, Equatable, CustomStringConvertible {
    /// Answer normally, but only after this delay.
    case latency(milliseconds: Int)
    /// Never answer; the connection stays open until the client gives up.
    case hang
    /// An HTML error page with this 5xx status.
    case serverError(status: Int)
    /// The full `Content-Length`, half the body, then the connection closes.
    case truncatedBody
    /// A complete HTTP answer whose JSON body does not parse.
    case malformedJSON
    /// KRX's IP-block page (`<title>에러페이지 - 한국거래소</title>`), with status 403 or 200.
    case blockPage(status: Int)
    /// The 2026-04 outage page: 403 "Service unavailable … temporary access instability".
    case serviceUnavailable
    /// HTTP 400 with body `LOGOUT`, as for a missing or expired member session.
    case logout
    /// HTTP 429 with `Retry-After`.
    case rateLimited(retryAfterSeconds: Int)

    public var description: String {
        switch self {
        case .latency(let ms): "latency:\(ms)"
        case .hang: "hang"
        case .serverError(let status): "error:\(status)"
        case .truncatedBody: "truncate"
        case .malformedJSON: "malformed"
        case .blockPage(let status): "block:\(status)"
        case .serviceUnavailable: "unavailable"
        case .logout: "logout"
        case .rateLimited(let seconds): "ratelimit:\(seconds)"
        }
    }

    /// Parses `kind[:parameter]`: `latency:200`, `hang`, `error[:503]`, `truncate`, `malformed`, `block[:403|200]`,
    /// `unavailable`, `logout`, `ratelimit[:60]`.
    public init(spec: String) throws(FaultSpecError) {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let kind = parts.first ?? ""
        let parameter = parts.count > 1 ? Int(parts[1]) : nil
        if parts.count > 1 && parameter == nil { throw FaultSpecError(spec: spec, reason: "the parameter is not a number") }
        switch kind {
        case "latency":
            guard let ms = parameter, ms >= 0 else {
                throw FaultSpecError(spec: spec, reason: "latency needs milliseconds, e.g. latency:250")
            }
            self = .latency(milliseconds: ms)
        case "hang": self = .hang
        case "error":
            let status = parameter ?? 500
            guard (500...599).contains(status) else { throw FaultSpecError(spec: spec, reason: "error status must be 5xx") }
            self = .serverError(status: status)
        case "truncate": self = .truncatedBody
        case "malformed": self = .malformedJSON
        case "block":
            let status = parameter ?? 403
            guard status == 403 || status == 200 else {
                throw FaultSpecError(spec: spec, reason: "the block page comes as 403 or 200")
            }
            self = .blockPage(status: status)
        case "unavailable": self = .serviceUnavailable
        case "logout": self = .logout
        case "ratelimit": self = .rateLimited(retryAfterSeconds: parameter ?? 60)
        default:
            throw FaultSpecError(
                spec: spec,
                reason: "unknown fault '\(kind)'; use latency:MS, hang, error[:5xx], truncate, malformed, "
                    + "block[:403|200], unavailable, logout or ratelimit[:SECONDS]")
        }
    }
}

/// When a fault rule fires.
public enum FaultTrigger: Sendable, Equatable, CustomStringConvertible {
    /// On every matching request.
    case always
    /// On each of the next N matching requests, then the rule is spent.
    case next(Int)
    /// With this probability (seeded, so a run is reproducible).
    case probability(Double)

    public var description: String {
        switch self {
        case .always: "always"
        case .next(let n): "next=\(n)"
        case .probability(let p): "p=\(p)"
        }
    }
}

/// A fault bound to a route: `route` is a route name (`portal/MDCSTAT01501`), a prefix of one (`portal`,
/// `openapi`, `login`) or `*` for every route.
public struct FaultRule: Sendable, Equatable, CustomStringConvertible {
    public var route: String
    public var fault: SimulatedFault
    public var trigger: FaultTrigger

    public init(route: String, fault: SimulatedFault, trigger: FaultTrigger = .always) {
        self.route = route
        self.fault = fault
        self.trigger = trigger
    }

    /// Parses the command-line form `ROUTE=KIND[:PARAM][@next=N|@p=0.25]`, e.g.
    /// `portal/MDCSTAT01501=error:503@next=2` or `*=latency:200@p=0.1`.
    public init(spec: String) throws(FaultSpecError) {
        guard let equals = spec.firstIndex(of: "=") else {
            throw FaultSpecError(spec: spec, reason: "expected ROUTE=KIND[:PARAM][@next=N|@p=P]")
        }
        let route = String(spec[..<equals])
        var rest = String(spec[spec.index(after: equals)...])
        var trigger = FaultTrigger.always
        if let at = rest.firstIndex(of: "@") {
            let text = String(rest[rest.index(after: at)...])
            rest = String(rest[..<at])
            if text.hasPrefix("next="), let n = Int(text.dropFirst(5)), n > 0 {
                trigger = .next(n)
            } else if text.hasPrefix("p="), let p = Double(text.dropFirst(2)), (0...1).contains(p) {
                trigger = .probability(p)
            } else if text != "always" {
                throw FaultSpecError(spec: spec, reason: "the trigger must be next=N (N > 0), p=P (0…1) or always")
            }
        }
        guard !route.isEmpty else { throw FaultSpecError(spec: spec, reason: "the route is empty (use * for all)") }
        self.init(route: route, fault: try SimulatedFault(spec: rest), trigger: trigger)
    }

    public var description: String { "\(route)=\(fault)@\(trigger)" }

    func matches(_ name: String) -> Bool {
        route == "*" || route == name || name.hasPrefix(route + "/")
    }
}

/// A fault specification that could not be understood.
public struct FaultSpecError: Error, CustomStringConvertible {
    public let spec: String
    public let reason: String
    public var description: String { "invalid fault '\(spec)': \(reason)" }
}

/// The live set of fault rules; tests and the control endpoint change it while the simulator runs.
public final class FaultController: Sendable {
    private struct State {
        var rules: [FaultRule]
        var random: SeededGenerator
    }
    private let state: Mutex<State>

    init(rules: [FaultRule], seed: UInt64) {
        state = Mutex(State(rules: rules, random: SeededGenerator(seed: Hash.combine(seed, 0xFA017))))
    }

    /// The rules in force (spent `next(N)` rules are gone).
    public var rules: [FaultRule] { state.withLock { $0.rules } }

    /// Adds a rule; rules are consulted in the order they were added.
    public func add(_ rule: FaultRule) { state.withLock { $0.rules.append(rule) } }

    /// Adds `fault` on `route` for the next `count` requests.
    public func inject(_ fault: SimulatedFault, route: String = "*", next count: Int = 1) {
        add(FaultRule(route: route, fault: fault, trigger: .next(count)))
    }

    /// Removes every rule.
    public func clear() { state.withLock { $0.rules.removeAll() } }

    /// What to do with one request on `route`: a total added latency and at most one terminal fault.
    func decide(route: String) -> (latencyMilliseconds: Int, fault: SimulatedFault?) {
        state.withLock { state in
            var latency = 0
            var terminal: SimulatedFault? = nil
            var index = 0
            while index < state.rules.count {
                let rule = state.rules[index]
                guard rule.matches(route) else {
                    index += 1
                    continue
                }
                if case .latency = rule.fault {} else if terminal != nil {
                    index += 1
                    continue
                }
                var fires: Bool
                switch rule.trigger {
                case .always: fires = true
                case .probability(let p): fires = state.random.unit() < p
                case .next(let n):
                    fires = true
                    if n <= 1 {
                        state.rules.remove(at: index)
                        index -= 1
                    } else {
                        state.rules[index].trigger = .next(n - 1)
                    }
                }
                if fires {
                    if case .latency(let ms) = rule.fault { latency += ms } else { terminal = rule.fault }
                }
                index += 1
            }
            return (latency, terminal)
        }
    }
}
