import Foundation
import KRXSimulator
import Testing

/// The simulator's answers byte for byte: fixed (seed, date, screen, form) requests must produce exactly the bytes the
/// renderer produced before it was rewritten for speed (the golden length and FNV-1a 64 hash of each body were
/// captured from that renderer). Any change of field order, number formatting, "-" placement or escaping shows here.
@Suite struct RenderFidelityTests {
    static let configuration = SimulatorConfiguration(seed: 11, today: SimDate.on("2024-03-15"))

    struct Golden: Sendable, CustomStringConvertible {
        let form: String
        let bytes: Int
        let hash: UInt64
        var description: String { form }
    }

    /// Trading day, holiday (2024-03-01, 삼일절), weekend, unit-scaled forms, per-market, masters, index range,
    /// per-issue histories and the finder.
    static let goldens: [Golden] = [
        Golden(form: form("MDCSTAT01501", "mktId=ALL&trdDd=20240315&share=1&money=1"), bytes: 924452, hash: 0xdca5_8379_a9b9_e414),
        Golden(form: form("MDCSTAT01501", "mktId=KSQ&trdDd=20240301"), bytes: 449989, hash: 0xcc33_b3d0_7515_3f8f),
        Golden(form: form("MDCSTAT01501", "mktId=ALL&trdDd=20240314&share=2&money=3"), bytes: 866790, hash: 0x3ae7_53d5_d1a0_b658),
        Golden(form: form("MDCSTAT04301", "trdDd=20240315&share=1&money=1"), bytes: 394543, hash: 0xb4bd_6cf0_60e5_6561),
        Golden(form: form("MDCSTAT04301", "trdDd=20240310"), bytes: 328637, hash: 0xc289_ca2b_3b68_0506),
        Golden(form: form("MDCSTAT03501", "mktId=ALL&trdDd=20240315"), bytes: 820505, hash: 0x1210_86c9_0ecb_990a),
        Golden(form: form("MDCSTAT03901", "mktId=STK&trdDd=20240315"), bytes: 203308, hash: 0x6dcb_7467_2d4e_53b6),
        Golden(form: form("MDCSTAT03901", "mktId=KSQ&trdDd=20240301"), bytes: 248204, hash: 0xe3cd_6385_6746_f6fa),
        Golden(form: form("MDCSTAT01901", "mktId=ALL"), bytes: 770591, hash: 0xa4c4_4134_22fc_7c63),
        Golden(form: form("MDCSTAT04601"), bytes: 434772, hash: 0x5a02_1c8b_0d16_98d7),
        Golden(form: form("MDCSTAT00301", "indIdx=1&indIdx2=001&strtDd=20240101&endDd=20240315"), bytes: 13865, hash: 0xa84f_ff22_af48_af86),
        Golden(form: form("finder_stkisu", "mktsel=ALL&searchText=&typeNo=0"), bytes: 418570, hash: 0xebc9_cbab_29bf_a0dc),
    ]

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    @Test("portal answers are byte-identical to the reference renderer's", arguments: goldens)
    func identical(_ golden: Golden) async throws {
        try await withSimulator(Self.configuration) { sim in
            let response = try await Curl.portal(sim, golden.form, extra: ["--compressed"])
            #expect(response.status == 200)
            let hash = Self.fnv1a(response.body)
            #expect(response.body.count == golden.bytes)
            #expect(hash == golden.hash)
        }
    }
}
