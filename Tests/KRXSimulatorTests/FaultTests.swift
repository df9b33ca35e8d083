import Foundation
import KRXSimulator
import Testing

/// Every fault, by rule and through the control endpoint, plus the stats a test uses to count requests.
@Suite struct FaultTests {
    static let configuration = SimulatorConfiguration(seed: 9, today: SimDate.on("2024-03-15"))
    static let prices = form("MDCSTAT01501", "mktId=KNX&trdDd=20240315")

    @Test func serverErrorForTheNextNRequestsThenNormal() async throws {
        try await withSimulator(Self.configuration) { sim in
            sim.faults.inject(.serverError(status: 503), route: "portal/MDCSTAT01501", next: 2)
            let first = try await Curl.portal(sim, Self.prices)
            let second = try await Curl.portal(sim, Self.prices)
            let other = try await Curl.portal(sim, form("MDCSTAT04601"))
            let third = try await Curl.portal(sim, Self.prices)
            #expect(first.status == 503 && second.status == 503)
            #expect(other.status == 200)
            #expect(third.status == 200 && third.rows("OutBlock_1") != nil)
            #expect(sim.faults.rules.isEmpty)
            let stats = sim.stats()
            #expect(stats.count("portal/MDCSTAT01501") == 3)
            #expect(stats.count("portal") == 4)
            #expect(stats.requests.filter { $0.route == "portal/MDCSTAT01501" }.map(\.status) == [503, 503, 200])
            let times = stats.timestamps("portal/MDCSTAT01501")
            #expect(times == times.sorted() && times.count == 3)
        }
    }

    @Test func latencyDelaysTheAnswer() async throws {
        try await withSimulator(Self.configuration) { sim in
            sim.faults.add(FaultRule(route: "portal", fault: .latency(milliseconds: 400)))
            let slow = try await Curl.portal(sim, Self.prices)
            #expect(slow.status == 200 && slow.rows("OutBlock_1") != nil)
            #expect(slow.seconds >= 0.4)
        }
    }

    @Test func hangNeverAnswersUntilTheClientGivesUp() async throws {
        try await withSimulator(Self.configuration) { sim in
            sim.faults.inject(.hang, route: "portal/MDCSTAT01501")
            let hung = try await Curl.portal(sim, Self.prices, extra: ["--max-time", "1"])
            #expect(hung.exitCode == 28)  // curl: operation timed out
            #expect(hung.status == 0)
            #expect(sim.stats().requests.last?.status == 0)
            #expect(try await Curl.portal(sim, Self.prices).status == 200)
        }
    }

    @Test func truncatedBodyClosesEarly() async throws {
        try await withSimulator(Self.configuration) { sim in
            sim.faults.inject(.truncatedBody, route: "portal")
            let response = try await Curl.portal(sim, Self.prices)
            #expect(response.exitCode == 18)  // curl: partial file (the chunked body never ends)
            #expect(response.object == nil)
            // A Content-Length answer (the Open API) is cut short of its declared length.
            sim.faults.inject(.truncatedBody, route: "openapi")
            let api = try await Curl.get(
                sim.baseURL + "/svc/apis/sto/stk_bydd_trd?basDd=20240314", ["-H", "AUTH_KEY: demo-auth-key"])
            #expect(api.exitCode == 18)
            #expect(api.body.count < Int(api.header("content-length") ?? "") ?? 0)
        }
    }

    @Test func malformedJSONIsACompleteAnswerThatDoesNotParse() async throws {
        try await withSimulator(Self.configuration) { sim in
            sim.faults.inject(.malformedJSON, route: "portal")
            let response = try await Curl.portal(sim, Self.prices)
            #expect(response.exitCode == 0 && response.status == 200)
            #expect(response.text.hasPrefix("{\"OutBlock_1\":["))
            #expect(response.object == nil)
        }
    }

    @Test(arguments: [403, 200])
    func blockPageComesWithEitherStatus(status: Int) async throws {
        try await withSimulator(Self.configuration) { sim in
            sim.faults.inject(.blockPage(status: status), route: "portal")
            let response = try await Curl.portal(sim, Self.prices)
            #expect(response.status == status)
            #expect(response.text.contains("<title>에러페이지 - 한국거래소</title>"))
            #expect(response.header("content-type") == "text/html; charset=utf-8")
        }
    }

    @Test func serviceUnavailableLogoutAndRateLimit() async throws {
        try await withSimulator(Self.configuration) { sim in
            sim.faults.inject(.serviceUnavailable, route: "portal/MDCSTAT04601")
            sim.faults.inject(.logout, route: "portal/MDCSTAT01501")
            sim.faults.inject(.rateLimited(retryAfterSeconds: 7), route: "openapi")
            let unavailable = try await Curl.portal(sim, form("MDCSTAT04601"))
            #expect(unavailable.status == 403 && unavailable.text.contains("Service unavailable"))
            let logout = try await Curl.portal(sim, Self.prices)
            #expect(logout.status == 400 && logout.text == "LOGOUT")
            let limited = try await Curl.get(
                sim.baseURL + "/svc/apis/sto/stk_bydd_trd?basDd=20240314", ["-H", "AUTH_KEY: demo-auth-key"])
            #expect(limited.status == 429 && limited.header("retry-after") == "7")
        }
    }

    @Test func probabilityIsSeededAndRoughlyRight() async throws {
        var configuration = Self.configuration
        configuration.faults = [FaultRule(route: "portal/MDCSTAT04601", fault: .serverError(status: 500), trigger: .probability(0.5))]
        let statuses = try await withSimulator(configuration) { sim in
            var statuses: [Int] = []
            for _ in 0..<16 { statuses.append(try await Curl.portal(sim, form("MDCSTAT04601")).status) }
            return statuses
        }
        let again = try await withSimulator(configuration) { sim in
            var statuses: [Int] = []
            for _ in 0..<16 { statuses.append(try await Curl.portal(sim, form("MDCSTAT04601")).status) }
            return statuses
        }
        #expect(statuses == again)
        #expect(statuses.contains(500) && statuses.contains(200))
    }

    @Test func controlEndpointsSetFaultsAndReportStats() async throws {
        try await withSimulator(Self.configuration) { sim in
            let add = try await Curl.run([
                "-H", "Content-Type: application/json", "--data",
                "[{\"route\":\"portal/MDCSTAT01501\",\"fault\":\"block:200\",\"next\":1},{\"spec\":\"openapi=error:502@next=1\"}]",
                sim.baseURL + "/_sim/faults",
            ])
            #expect(add.status == 200 && add.object?["added"] as? Int == 2)
            #expect(sim.faults.rules.count == 2)
            let listed = try await Curl.get(sim.baseURL + "/_sim/faults")
            #expect((listed.object?["faults"] as? [String])?.count == 2)
            #expect(try await Curl.portal(sim, Self.prices).text.contains("에러페이지"))
            let bad = try await Curl.run(["--data", "{\"fault\":\"explode\"}", sim.baseURL + "/_sim/faults"])
            #expect(bad.status == 400 && (bad.object?["error"] as? String)?.contains("unknown fault") == true)
            let clear = try await Curl.run(["-X", "DELETE", sim.baseURL + "/_sim/faults"])
            #expect(clear.status == 200 && sim.faults.rules.isEmpty)

            let stats = try await Curl.get(sim.baseURL + "/_sim/stats")
            let routes = try #require(stats.object?["routes"] as? [String: [String: Any]])
            #expect(routes["portal/MDCSTAT01501"]?["count"] as? Int == 1)
            #expect((routes["portal/MDCSTAT01501"]?["timestamps"] as? [Double])?.count == 1)
            #expect(stats.object?["total"] as? Int == 1)  // control calls are not counted
            #expect(try await Curl.run(["-X", "POST", sim.baseURL + "/_sim/stats/reset"]).status == 200)
            #expect(sim.stats().requests.isEmpty)
        }
    }

    @Test func faultSpecsParseAndRejectNonsense() throws {
        let rule = try FaultRule(spec: "portal/MDCSTAT01501=error:503@next=2")
        #expect(rule == FaultRule(route: "portal/MDCSTAT01501", fault: .serverError(status: 503), trigger: .next(2)))
        #expect(try FaultRule(spec: "*=latency:250@p=0.1").trigger == .probability(0.1))
        #expect(try FaultRule(spec: "openapi=ratelimit").fault == .rateLimited(retryAfterSeconds: 60))
        #expect(throws: FaultSpecError.self) { try FaultRule(spec: "portal=block:500") }
        #expect(throws: FaultSpecError.self) { try FaultRule(spec: "portal=latency") }
        #expect(throws: FaultSpecError.self) { try FaultRule(spec: "portal=hang@next=0") }
        #expect(throws: FaultSpecError.self) { try FaultRule(spec: "no-equals-sign") }
    }
}
