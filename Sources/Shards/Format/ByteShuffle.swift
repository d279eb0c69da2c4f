/// Byte shuffling, the filter of HDF5 and Blosc: the bytes of `count / k` elements of `k` bytes each are
/// regrouped by position, all first bytes, then all second bytes, and so on; the `count % k` trailing bytes
/// stay last as they are. For 16-bit samples this puts the slowly varying high bytes in one run, which zstd
/// compresses further and, above all, decodes faster (docs/measurements.md).
public enum ByteShuffle {
    /// `destination` gets `source` shuffled by `elementSize`; both hold the same number of bytes.
    public static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, elementSize k: Int) {
        precondition(source.count == destination.count && k >= 1, "shuffle needs equal sizes and an element size >= 1")
        guard let src = source.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let dst = destination.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let n = source.count / k
        // These two loop shapes are the ones the compiler vectorises; the generic loop is far slower.
        if k == 2, Int(bitPattern: src) % 2 == 0 {
            let elements = UnsafeRawPointer(src).assumingMemoryBound(to: UInt16.self), high = dst + n
            for i in 0..<n {
                dst[i] = UInt8(truncatingIfNeeded: elements[i])
                high[i] = UInt8(truncatingIfNeeded: elements[i] >> 8)
            }
        } else {
            for i in 0..<n { for b in 0..<k { dst[b * n + i] = src[i * k + b] } }
        }
        for t in n * k..<source.count { dst[t] = src[t] }
    }

    /// The inverse of `shuffle`, in place: `scratch` must hold at least the first `elementSize - 1` planes
    /// (`(count / k) * (k - 1)` bytes), which are copied there; the last plane is read where it is. That is
    /// safe because element i's bytes are written at or before where its last-plane byte is read, and after
    /// every later element's. Decoding straight into the destination this way needs half the scratch memory
    /// (for k = 2), which a fresh process pays for in page faults.
    public static func unshuffleInPlace(_ buffer: UnsafeMutableRawBufferPointer, elementSize k: Int, scratch: UnsafeMutableRawBufferPointer) {
        let n = buffer.count / k
        precondition(k >= 1 && scratch.count >= n * (k - 1), "unshuffle needs an element size >= 1 and scratch for k - 1 planes")
        guard k > 1, n > 0, let base = buffer.baseAddress, let saved = scratch.baseAddress else { return }
        saved.copyMemory(from: base, byteCount: n * (k - 1))
        let bytes = base.assumingMemoryBound(to: UInt8.self), planes = UnsafePointer(saved.assumingMemoryBound(to: UInt8.self))
        let last = bytes + n * (k - 1)
        var i = 0
        if k == 2 {
            // 16 elements at a time, every load before the store (the loops below would not vectorise, as the
            // compiler cannot see that the overlap is harmless).
            while i + 16 <= n {
                var pairs = SIMD32<UInt8>()
                pairs.evenHalf = UnsafeRawPointer(planes).loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                pairs.oddHalf = UnsafeRawPointer(last).loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                base.storeBytes(of: pairs, toByteOffset: 2 * i, as: SIMD32<UInt8>.self)
                i += 16
            }
        }
        for e in i..<n {
            let lastByte = last[e]
            for b in 0..<k - 1 { bytes[e * k + b] = planes[b * n + e] }
            bytes[e * k + k - 1] = lastByte
        }
    }
}
