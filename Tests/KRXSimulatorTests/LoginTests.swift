import Foundation
import KRXSimulator
import Testing

/// The member login flow (krx-wire.md §4.2): MDCCOMS001.cmd → login.jsp → MDCCOMS001D1.cmd, CD001/CD010/CD011,
/// `skipDup=Y`, one session per account, expiry, and `LOGOUT` for data calls without a session.
@Suite struct LoginTests {
    static func configuration(lifetime: Duration = .seconds(3600)) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration(seed: 3, today: SimDate.on("2024-03-15"), requireLogin: true)
        configuration.accounts = [
            SimulatorAccount(id: "member", password: "s3cret"),
            SimulatorAccount(id: "stale", password: "old", passwordChangeRequired: true),
        ]
        configuration.sessionLifetime = lifetime
        return configuration
    }

    static let data = form("MDCSTAT01501", "mktId=KNX&trdDd=20240315")

    /// Runs the three login steps with one cookie jar, as pykrx does; returns the `_error_code`.
    static func login(
        _ sim: KRXSimulator, jar: String, id: String = "member", password: String = "s3cret", skipDup: Bool = false
    ) async throws -> String? {
        let landing = sim.baseURL + "/contents/MDC/COMS/client/MDCCOMS001.cmd"
        let first = try await Curl.get(landing, ["-b", jar, "-c", jar])
        #expect(first.status == 200)
        let page = try await Curl.get(
            sim.baseURL + "/contents/MDC/COMS/client/view/login.jsp?site=mdc", ["-b", jar, "-c", jar, "-e", landing])
        #expect(page.status == 200)
        var fields = "mbrNm=&telNo=&di=&certType=&mbrId=\(id)&pw=\(password)"
        if skipDup { fields += "&skipDup=Y" }
        let result = try await Curl.run([
            "-b", jar, "-c", jar, "-e", landing, "--data", fields,
            sim.baseURL + "/contents/MDC/COMS/client/MDCCOMS001D1.cmd",
        ])
        #expect(result.status == 200)
        return result.object?["_error_code"] as? String
    }

    @Test func withoutASessionDataCallsGetLogout() async throws {
        try await withSimulator(Self.configuration()) { sim in
            let response = try await Curl.portal(sim, Self.data)
            #expect(response.status == 400)
            #expect(response.text == "LOGOUT")
            // Public bits stay public.
            let bundle = try await Curl.get(
                sim.baseURL + "/comm/bldAttendant/executeForResourceBundle.cmd?baseName=krx.mdc.i18n.component&key=B128.bld")
            #expect(bundle.status == 200)
        }
    }

    @Test func loginGivesASessionThatServesData() async throws {
        let jars = CookieJars()
        try await withSimulator(Self.configuration()) { sim in
            let jar = jars.make()
            #expect(try await Self.login(sim, jar: jar) == "CD001")
            #expect(try await Self.login(sim, jar: jars.make(), password: "wrong") == "CD002")
            let response = try await Curl.portal(sim, Self.data, jar: jar)
            #expect(response.status == 200)
            #expect(response.rows("OutBlock_1")?.isEmpty == false)
            #expect(sim.liveSessionCount == 1)
        }
    }

    /// KRX's real login answer: served as text/html, member fields before the code and message.
    @Test func loginAnswerHasKRXsShape() async throws {
        try await withSimulator(Self.configuration()) { sim in
            let post = { (id: String, password: String) in
                try await Curl.run([
                    "--data", "mbrNm=&telNo=&di=&certType=&mbrId=\(id)&pw=\(password)",
                    sim.baseURL + "/contents/MDC/COMS/client/MDCCOMS001D1.cmd",
                ])
            }
            let success = try await post("member", "s3cret")
            #expect(success.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(success.text.hasPrefix(#"{"previousMemberYn":false,"MDC_MBR_TP_CD":"P","MBR_NO":""#))
            #expect(success.text.hasSuffix(#","_error_code":"CD001","_error_message":"정상"}"#))
            let number = try #require(success.object?["MBR_NO"] as? String)
            #expect(number.count == 10 && number.allSatisfy(\.isNumber))
            #expect(success.object?["previousMemberYn"] as? Bool == false)
            let unknown = try await post("nobody", "x")
            #expect(unknown.object?["_error_code"] as? String == "CD002" && unknown.object?["MBR_NO"] == nil)
        }
    }

    @Test func passwordChangeRequiredIsCD010AndGivesNoSession() async throws {
        let jars = CookieJars()
        try await withSimulator(Self.configuration()) { sim in
            let jar = jars.make()
            let code = try await Self.login(sim, jar: jar, id: "stale", password: "old")
            #expect(code == "CD010")
            let response = try await Curl.portal(sim, Self.data, jar: jar)
            #expect(response.text == "LOGOUT")
            #expect(sim.liveSessionCount == 0)
        }
    }

    @Test func aSecondLoginIsCD011UntilSkipDupAndThenReplacesTheFirstSession() async throws {
        let jars = CookieJars()
        try await withSimulator(Self.configuration()) { sim in
            let first = jars.make()
            let second = jars.make()
            #expect(try await Self.login(sim, jar: first) == "CD001")
            #expect(try await Self.login(sim, jar: second) == "CD011")
            #expect(try await Curl.portal(sim, Self.data, jar: second).status == 400)
            #expect(try await Curl.portal(sim, Self.data, jar: first).status == 200)
            #expect(try await Self.login(sim, jar: second, skipDup: true) == "CD001")
            #expect(try await Curl.portal(sim, Self.data, jar: second).status == 200)
            let old = try await Curl.portal(sim, Self.data, jar: first)
            #expect(old.status == 400 && old.text == "LOGOUT")
            #expect(sim.liveSessionCount == 1)
            #expect(sim.stats().count("login/MDCCOMS001D1") == 3)
        }
    }

    @Test func sessionsExpire() async throws {
        let jars = CookieJars()
        try await withSimulator(Self.configuration(lifetime: .seconds(2))) { sim in
            let jar = jars.make()
            #expect(try await Self.login(sim, jar: jar) == "CD001")
            #expect(try await Curl.portal(sim, Self.data, jar: jar).status == 200)
            // Expiry is a deadline, not an event: wait it out.
            try await Task.sleep(for: .milliseconds(2_200))
            #expect(try await Curl.portal(sim, Self.data, jar: jar).text == "LOGOUT")
            #expect(try await Self.login(sim, jar: jar) == "CD001")
            #expect(try await Curl.portal(sim, Self.data, jar: jar).status == 200)
        }
    }

    @Test func expiringSessionsFromTheControlEndpoint() async throws {
        let jars = CookieJars()
        try await withSimulator(Self.configuration()) { sim in
            let jar = jars.make()
            #expect(try await Self.login(sim, jar: jar) == "CD001")
            let control = try await Curl.run(["-X", "POST", sim.baseURL + "/_sim/sessions/expire"])
            #expect(control.status == 200)
            #expect(try await Curl.portal(sim, Self.data, jar: jar).text == "LOGOUT")
            // A logged-out account may log in again without CD011.
            #expect(try await Self.login(sim, jar: jars.make()) == "CD001")
        }
    }

    @Test func logoutEndsTheSession() async throws {
        let jars = CookieJars()
        try await withSimulator(Self.configuration()) { sim in
            let jar = jars.make()
            #expect(try await Self.login(sim, jar: jar) == "CD001")
            let logout = try await Curl.run(["-b", jar, "-c", jar, "--data", "", sim.baseURL + "/contents/MDC/COMS/client/MDCCOMS001D2.cmd"])
            #expect(logout.status == 200)
            #expect(try await Curl.portal(sim, Self.data, jar: jar).status == 400)
            #expect(try await Self.login(sim, jar: jars.make()) == "CD001")
        }
    }
}
