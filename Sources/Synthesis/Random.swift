import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): seeds the generators and derives independent streams from keys,
/// so an image's pixels depend only on (seed, image id), never on which thread renders it or when.
@inline(__always)
func splitMix64(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// xoshiro256** (Blackman, Vigna 2018): fast, good-quality 64-bit generator for pixels and parameters.
public struct SynthRandom: RandomNumberGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A stream for `seed`, further keyed by `keys` (e.g. an image id and a purpose) through SplitMix64.
    public init(seed: UInt64, _ keys: UInt64...) {
        var state = seed
        for key in keys { state = splitMix64(&state) ^ key }
        s0 = splitMix64(&state); s1 = splitMix64(&state); s2 = splitMix64(&state); s3 = splitMix64(&state)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Standard normal (Box-Muller; one value per call, for parameters, not pixels).
    public mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// Approximately standard normal and cheap, for per-pixel noise: the sum of four 16-bit uniforms
    /// (Irwin-Hall), rescaled to unit variance.
    @inline(__always)
    public mutating func fastNormal() -> Float {
        let r = next()
        let sum = Int(r & 0xFFFF) + Int((r >> 16) & 0xFFFF) + Int((r >> 32) & 0xFFFF) + Int(r >> 48)
        return Float(sum - 2 * 65535) * (1.0 / (65536.0 * 0.5773502692))
    }

    public mutating func chance(_ p: Double) -> Bool { uniform() < p }

    /// An index drawn with probability proportional to `weights`.
    public mutating func weightedIndex<W: BinaryInteger>(_ weights: [W]) -> Int {
        let total = weights.reduce(0) { $0 + Int($1) }
        var r = Int(next() % UInt64(max(total, 1)))
        for (i, w) in weights.enumerated() {
            r -= Int(w)
            if r < 0 { return i }
        }
        return weights.count - 1
    }
}
