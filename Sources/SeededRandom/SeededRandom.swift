/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, well-mixed generator. It seeds the xoshiro
/// generators and derives independent streams from keys, and seeded folds and bootstraps draw from it
/// directly, so a seeded result is the same on every platform (Swift's SystemRandomNumberGenerator is not
/// seedable, numpy's stream is not ours).
@frozen
public struct SplitMix64: RandomNumberGenerator {
    @usableFromInline var state: UInt64

    @inlinable
    public init(seed: UInt64) { state = seed }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman, Vigna 2018): a fast, good-quality 64-bit generator, its state filled by SplitMix64
/// as its authors advise. Model weights, dropout, data order and synthetic pixels all draw from it.
@frozen
public struct Xoshiro256: RandomNumberGenerator {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The state from the next four outputs of `seeder`.
    @inlinable
    public init(seeder: inout SplitMix64) {
        s0 = seeder.next(); s1 = seeder.next(); s2 = seeder.next(); s3 = seeder.next()
    }

    @inlinable
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        self.init(seeder: &seeder)
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }
}
