import GalaxyCore
import Testing

@Suite struct ConfigurationTests {
    @Test func defaultsMatchTheDesign() throws {
        let config = try GalaxyConfiguration(environment: [:])
        #expect(config.socketPath == "/run/galaxyd/control.sock")
        #expect(config.adminGroup == "galaxy-admin")
        #expect(config.source == .portal)
        #expect(config.portalURL == "https://data.krx.co.kr")
        #expect(config.openAPIURL == "https://data-dbg.krx.co.kr")
        #expect(config.rate == 0.5)
        #expect(config.timeZoneIdentifier == "Asia/Seoul")
        #expect(config.dailyCron == "0 18 * * mon-fri")
        #expect(config.snapshotCron == "30 18 * * mon-fri")
        #expect(config.maxChildren == 2)
    }

    @Test(arguments: [
        ("GALAXY_RATE", "fast"), ("GALAXY_RATE", "-1"), ("GALAXY_MAX_CHILDREN", "0"), ("GALAXY_SOURCE", "naver"),
        ("GALAXY_PORTAL_URL", "data.krx.co.kr"), ("GALAXY_SOCKET", "relative.sock"), ("GALAXY_SOURCE_PRICE", "x"),
        ("GALAXY_TZ", "Mars/Olympus"), ("GALAXY_DAILY_CRON", "at six"), ("GALAXY_SNAPSHOT_CRON", "30 18 * * someday"),
    ])
    func badValuesNameTheVariable(_ variable: String, _ value: String) {
        #expect {
            _ = try GalaxyConfiguration(environment: [variable: value])
        } throws: { error in
            (error as? ConfigurationError)?.variable == variable
        }
    }

    @Test func credentialFilesWinAndSecretsNeverPrint() throws {
        let files = ["/creds/krx-pw": "from-file\r\n", "/creds/krx-auth-key": "KEY"]
        let config = try GalaxyConfiguration(
            environment: ["KRX_ID": "member", "KRX_PW": "from-env", "CREDENTIALS_DIRECTORY": "/creds"],
            readFile: { files[$0] })
        #expect(config.credentials.memberID == "member")
        #expect(config.credentials.memberPassword?.revealed == "from-file")
        #expect(config.credentials.authKey?.revealed == "KEY")
        let printed = "\(config.credentials)"
        #expect(!printed.contains("from-file"))
        #expect(!printed.contains("KEY"))
    }

    @Test func missingCredentialsAreNamedWithTheirFileAndDirective() throws {
        let empty = try GalaxyConfiguration(environment: ["CREDENTIALS_DIRECTORY": "/creds"], readFile: { _ in "" })
        let problems = empty.credentialProblems(credentialsDirectory: "/creds")
        #expect(problems.count == 1)
        #expect(problems[0].contains("no KRX member login"))
        #expect(problems[0].contains("/creds/krx-id is missing or empty"))
        #expect(problems[0].contains("LoadCredential=krx-id:/etc/galaxy/credentials/krx-id"))

        let noPassword = try GalaxyConfiguration(environment: ["KRX_ID": "member", "GALAXY_SOURCE_PRICE": "openapi"])
        let both = noPassword.credentialProblems(credentialsDirectory: nil)
        #expect(both.count == 2)
        #expect(both[0].contains("KRX_PW is not set and there is no $CREDENTIALS_DIRECTORY with krx-pw"))
        #expect(both[1].contains("Open API source has no AUTH_KEY"))

        let complete = try GalaxyConfiguration(environment: ["KRX_ID": "member", "KRX_PW": "secret"])
        #expect(complete.credentialProblems(credentialsDirectory: nil).isEmpty)
    }

    @Test func perDatasetSourceOverride() throws {
        let config = try GalaxyConfiguration(environment: ["GALAXY_SOURCE_PRICE": "openapi"])
        #expect(config.source(for: .price) == .openapi)
        #expect(config.source(for: .valuation) == .portal)
    }
}

@Suite struct CollectorProtocolTests {
    @Test func progressRoundTripsAndRejectsJunk() {
        let progress = CollectorProgress(daysDone: 3, daysFailed: 1, daysTotal: 10, rows: 8400, requests: 5)
        #expect(CollectorProgress(value: progress.value) == progress)
        #expect(CollectorProgress(value: "1/2/3") == nil)
        #expect(CollectorProgress(value: "1/2/3/4/-5") == nil)
        #expect(CollectorProgress(value: "a/b/c/d/e") == nil)
    }

    @Test func progressCarriesFailedRequestsByKindAndRejectsUnknownKinds() {
        let progress = CollectorProgress(
            daysDone: 3, daysTotal: 10, rows: 8400, requests: 9, requestErrors: [.timeout: 2, .serverError: 1])
        #expect(progress.value == "3/0/10/8400/9/http_5xx:1,timeout:2")
        #expect(CollectorProgress(value: progress.value) == progress)
        #expect(CollectorProgress(value: "3/0/10/8400/9")?.requestErrors == [:], "collectors before this field")
        #expect(CollectorProgress(value: "3/0/10/8400/9/sunspots:1") == nil)
        #expect(CollectorProgress(value: "3/0/10/8400/9/timeout:-1") == nil)
        #expect(CollectorProgress(value: "3/0/10/8400/9/timeout:1/x") == nil)
        #expect(CollectorProgress(value: "3/0/10/8400/9/timeout:1,timeout:1") == nil, "a kind twice")
        #expect(CollectorProgress(value: "3/0/10/8400/9/timeout:\(Int.max)") == nil, "no sum can overflow")
        #expect(CollectorProgress(value: "3/0/10/\(Int.max)/9") == nil)
    }

    @Test func onlyTransientExitsAreRetried() {
        let retried = CollectorExitCode.allCases.filter(\.isRetryable)
        #expect(retried == [.partialFailure, .internalError, .temporaryFailure])
    }
}

@Suite struct HookCommandTests {
    @Test func wordsAreSplitLikeExecStartWithoutExpansion() throws {
        #expect(try HookCommand.split("/usr/local/bin/notify  --to ops@example.com") ==
                ["/usr/local/bin/notify", "--to", "ops@example.com"])
        #expect(try HookCommand.split(#"/bin/hook "two words" 'single $HOME' a\ b "q\"uote" ''"#) ==
                ["/bin/hook", "two words", "single $HOME", "a b", #"q"uote"#, ""])
        #expect(throws: HookCommand.SplitError.self) { try HookCommand.split(#"/bin/hook "open"#) }
        #expect(throws: HookCommand.SplitError.self) { try HookCommand.split(#"/bin/hook \"#) }
    }

    @Test func theConfigurationChecksTheExecutable() throws {
        let config = try GalaxyConfiguration(environment: ["GALAXY_ON_FAILURE": "/bin/sh -c 'exit 0'"])
        #expect(config.onFailure == HookCommand(executable: "/bin/sh", arguments: ["-c", "exit 0"]))
        #expect(try GalaxyConfiguration(environment: [:]).onFailure == nil)
        for (value, problem) in [
            ("sh -c true", "'sh' is not an absolute path"), ("/nonexistent", "/nonexistent is not an executable file"),
            ("/tmp", "/tmp is not an executable file"), ("/bin/sh 'x", "an unterminated quote"),
        ] {
            #expect {
                _ = try GalaxyConfiguration(environment: ["GALAXY_ON_FAILURE": value])
            } throws: { error in
                let error = error as? ConfigurationError
                return error?.variable == "GALAXY_ON_FAILURE" && error?.problem.contains(problem) == true
            }
        }
    }
}
