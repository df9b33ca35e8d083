import Foundation
import GalaxyCore
import GalaxyRPC
import Testing

@Suite struct StatusReportTests {
    @Test func absentValuesAreEncodedAsNullAndMissingKeysDecodeAsNil() throws {
        let entry = ScheduleStatus(
            job: "daily", cron: "0 18 * * mon-fri", timeZone: "Asia/Seoul", nextFire: "2026-11-30T09:00:00Z",
            lastFire: nil, lastRunId: nil)
        let encoded = try JSONValue(encoding: entry)
        #expect(encoded["lastFire"] == .null)
        #expect(encoded["lastRunId"] == .null)
        #expect(encoded["nextFire"] == .string("2026-11-30T09:00:00Z"))
        #expect(try encoded.decode(as: ScheduleStatus.self) == entry)
        let sparse = try JSONValue(parsing: #"{"job":"daily","cron":"x","timeZone":"UTC"}"#)
        let decoded = try sparse.decode(as: ScheduleStatus.self)
        #expect(decoded.nextFire == nil && decoded.lastRunId == nil)
    }
}
