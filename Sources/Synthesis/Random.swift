import Foundation
import SeededRandom

/// xoshiro256** streams for pixels and parameters, each keyed through SplitMix64 so that an image's pixels
/// depend only on (seed, image id), never on which thread renders it or when.
public struct SynthRandom: RandomNumberGenerator {
    private var generator: Xoshiro256

    /// A stream for `seed`, further keyed by `keys` (e.g. an image id and a purpose).
    public init(seed: UInt64, _ keys: UInt64...) {
        var seeder = SplitMix64(seed: seed)
        for key in keys { seeder = SplitMix64(seed: seeder.next() ^ key) }
        generator = Xoshiro256(seeder: &seeder)
    }

    @inline(__always)
    public mutating func next() -> UInt64 { generator.next() }

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
