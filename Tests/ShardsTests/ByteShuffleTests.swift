import Testing
@testable import Shards

/// Shuffles `bytes` by `k` and unshuffles the result in place with the least scratch allowed.
private func roundTrip(_ bytes: [UInt8], elementSize k: Int) -> (shuffled: [UInt8], restored: [UInt8]) {
    var shuffled = [UInt8](repeating: 0, count: bytes.count)
    bytes.withUnsafeBytes { source in
        shuffled.withUnsafeMutableBytes { ByteShuffle.shuffle(source, into: $0, elementSize: k) }
    }
    var restored = shuffled
    var scratch = [UInt8](repeating: 0, count: bytes.count / k * (k - 1))
    restored.withUnsafeMutableBytes { buffer in
        scratch.withUnsafeMutableBytes { ByteShuffle.unshuffleInPlace(buffer, elementSize: k, scratch: $0) }
    }
    return (shuffled, restored)
}

@Test func shuffleGroupsBytesByPositionAndLeavesTheTail() {
    // Three 16-bit elements and a trailing byte; two 24-bit elements and a tail of two.
    #expect(roundTrip([0x01, 0xA1, 0x02, 0xA2, 0x03, 0xA3, 0xFF], elementSize: 2).shuffled
            == [0x01, 0x02, 0x03, 0xA1, 0xA2, 0xA3, 0xFF])
    #expect(roundTrip([1, 2, 3, 4, 5, 6, 7, 8], elementSize: 3).shuffled == [1, 4, 2, 5, 3, 6, 7, 8])
    #expect(roundTrip([9, 8, 7], elementSize: 1).shuffled == [9, 8, 7])
}

@Test func unshuffleInPlaceRestoresEveryLengthAndElementSize() {
    // Lengths around the 16-element vector steps, with and without a tail, for sizes 1 to 5.
    for k in 1...5 {
        for count in [0, 1, 2, 15, 31, 32, 33, 64, 1000, 4099] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 >> 3) }
            let (shuffled, restored) = roundTrip(bytes, elementSize: k)
            #expect(restored == bytes, "k \(k), \(count) bytes")
            // Byte b of element e sits in plane b.
            let n = count / k
            if n > 1 { #expect(shuffled[(k - 1) * n + 1] == bytes[k + k - 1], "k \(k), \(count) bytes") }
        }
    }
}
