import Foundation
import SeededRandom

/// The one source of randomness: xoshiro256** seeded through SplitMix64. A model, its dropout masks and
/// the data order all draw from generators derived from one seed, so a run is reproducible bit for bit.
public final class Random {
    private var generator: Xoshiro256

    public init(seed: UInt64) { generator = Xoshiro256(seed: seed) }

    public func next() -> UInt64 { generator.next() }

    /// A child generator with its own stream (for a layer's dropout, a loader's shuffling).
    public func fork() -> Random { Random(seed: next()) }

    /// Uniform in [0, 1).
    public func uniform() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    public func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * uniform() }

    /// Standard normal (Box-Muller).
    public func normal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / Double(1 << 53)), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<n.
    public func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    public func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(i + 1)) }
    }
}
