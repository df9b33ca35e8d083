import Foundation

/// Deterministic hashing: every synthetic value is a pure function of (seed, entity, day, purpose), so the same
/// request answers byte-identically in any process, at any time, without precomputing history.
enum Hash {
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        // SplitMix64 finaliser.
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        mix(a ^ (b &* 0xD6E8_FEB8_6659_FD93) ^ 0x2545_F491_4F6C_DD1D)
    }

    @inline(__always)
    static func combine(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 { combine(combine(a, b), c) }

    /// Uniform in [0, 1).
    @inline(__always)
    static func unit(_ h: UInt64) -> Double { Double(h >> 11) * 0x1.0p-53 }

    /// Uniform in [0, 1) for (key, purpose, index).
    @inline(__always)
    static func unit(_ key: UInt64, _ purpose: UInt64, _ index: Int) -> Double {
        unit(combine(key, purpose, UInt64(bitPattern: Int64(index))))
    }

    /// FNV-1a of a string, for turning names (routes, index codes) into keys.
    static func string(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x100_0000_01B3
        }
        return h
    }
}

/// A small seeded generator (SplitMix64) for building the universe and for fault probabilities.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Hash.unit(next()) }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u = max(unit(), 1e-12)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * unit())
    }
}
