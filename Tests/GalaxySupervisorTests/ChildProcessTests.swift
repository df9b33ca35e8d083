import Foundation
import GalaxySupervisor
import GalaxyTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChildProcessTests {
    func shell(_ script: String, environment: [String: String] = ["PATH": "/usr/bin:/bin"]) -> ChildSpec {
        ChildSpec(executable: "/bin/sh", arguments: ["-c", script], environment: environment)
    }

    @Test func reportsExitCodeOutputAndRusage() async throws {
        let output = OutputRecorder()
        let child = try ChildProcess.spawn(shell("echo one; echo two >&2; printf 'no newline'; exit 3"), onOutput: output.handler)
        let exit = await child.wait()
        #expect(exit.termination == .exited(3))
        #expect(!exit.succeeded)
        #expect(exit.peakRSSKiB > 0)
        #expect(output.lines(.stdout) == ["one", "no newline"])
        #expect(output.lines(.stderr) == ["two"])
    }

    @Test func aSegfaultIsASignalNotACrashOfOurs() async throws {
        let child = try ChildProcess.spawn(shell("kill -SEGV $$"), onOutput: { _, _ in })
        let exit = await child.wait()
        #expect(exit.termination == .signaled(SIGSEGV))
        #expect(exit.description.contains("SIGSEGV"))
    }

    @Test func theEnvironmentIsExactlyTheSpecs() async throws {
        setenv("GALAXY_LEAK_CHECK", "leaked", 1)
        defer { unsetenv("GALAXY_LEAK_CHECK") }
        let output = OutputRecorder()
        let child = try ChildProcess.spawn(
            ChildSpec(executable: "/usr/bin/env", arguments: [], environment: ["ONLY": "this"]), onOutput: output.handler)
        #expect(await child.wait().succeeded)
        #expect(output.lines(.stdout) == ["ONLY=this"])
    }

    @Test func terminateEscalatesToKillWhenTermIsIgnored() async throws {
        let output = OutputRecorder()
        // The child ignores TERM and starts a grandchild in its process group; both must die.
        let child = try ChildProcess.spawn(
            shell("trap '' TERM; sleep 300 & echo $!; echo ready; wait"), onOutput: output.handler)
        try await waitUntil { output.lines(.stdout).contains("ready") }
        let grandchild = try #require(Int32(output.lines(.stdout).first ?? ""))
        let started = ContinuousClock.now
        let exit = await child.terminate(grace: .milliseconds(300))
        #expect(exit.termination == .signaled(SIGKILL))
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        try await waitUntil { kill(grandchild, 0) != 0 }
    }

    @Test func terminateIsPromptForAWellBehavedChild() async throws {
        let child = try ChildProcess.spawn(shell("exec sleep 300"), onOutput: { _, _ in })
        let exit = await child.terminate(grace: .seconds(30))
        #expect(exit.termination == .signaled(SIGTERM))
        #expect(exit.runtime < .seconds(10))
    }

    @Test func aGrandchildHoldingThePipeDoesNotHideTheExit() async throws {
        let output = OutputRecorder()
        let child = try ChildProcess.spawn(shell("sleep 300 & echo $!; exit 0"), onOutput: output.handler)
        let exit = await child.wait()
        #expect(exit.termination == .exited(0))
        #expect(exit.runtime < .seconds(10))
        let grandchild = try #require(Int32(output.lines(.stdout).first ?? ""))
        #expect(kill(grandchild, 0) == 0)  // still alive: the exit was seen through the pidfd, not EOF
        kill(grandchild, SIGKILL)
    }

    @Test func closingStdinIsTheSupervisorGoneSignal() async throws {
        let output = OutputRecorder()
        let child = try ChildProcess.spawn(shell("echo waiting; cat >/dev/null; echo eof; exit 7"), onOutput: output.handler)
        try await waitUntil { output.lines(.stdout).contains("waiting") }
        #expect(child.exit == nil)
        child.closeStdin()
        let exit = await child.wait()
        #expect(exit.termination == .exited(7))
        #expect(output.lines(.stdout) == ["waiting", "eof"])
    }

    @Test func aMissingExecutableIsASpawnErrorNamingIt() {
        #expect {
            _ = try ChildProcess.spawn(
                ChildSpec(executable: "/nonexistent/galaxy-collector", arguments: [], environment: [:]),
                onOutput: { _, _ in })
        } throws: { error in
            "\(error)".contains("/nonexistent/galaxy-collector") && "\(error)".contains("GALAXY_COLLECTOR")
        }
    }
}


@Suite struct ChildProcessWaitTests {
    @Test func aTimedWaitReturnsNilThenTheExit() async throws {
        let child = try ChildProcess.spawn(
            ChildSpec(executable: "/bin/sh", arguments: ["-c", "read line; exit 4"], environment: [:]),
            onOutput: { _, _ in })
        #expect(await child.wait(timeout: .milliseconds(50)) == nil)
        child.closeStdin()
        let exit = await child.wait(timeout: .seconds(30))
        #expect(exit?.termination == .exited(4))
    }

    @Test func aCancelledWaitReturnsPromptly() async throws {
        let child = try ChildProcess.spawn(
            ChildSpec(executable: "/bin/sh", arguments: ["-c", "exec sleep 300"], environment: [:]),
            onOutput: { _, _ in })
        let waiter = Task { await child.wait(timeout: .seconds(300)) }
        waiter.cancel()
        #expect(await waiter.value == nil)
        await child.terminate(grace: .seconds(5))
    }
}
