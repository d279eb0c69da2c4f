/// Vector kernels shared by the layers: eight float lanes at a time (SIMD8 lowers to two SSE or one AVX
/// register), with the last partial group of a row going through a zero-padded vector instead of a scalar tail.

typealias Lanes = SIMD8<Float>

/// p[i..<i+8], or the floats left before n padded with zeros.
@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> Lanes {
    if i + 8 <= n { return UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self) }
    var v = Lanes()
    for j in 0..<(n - i) { v[j] = p[i + j] }
    return v
}

/// Stores v at p[i..<i+8], or only its lanes before n.
@inline(__always)
func storeLanes(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
    if i + 8 <= n { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Lanes.self); return }
    for j in 0..<(n - i) { p[i + j] = v[j] }
}

/// a * b + c in eight lanes, fused where the target has native FMA (MAMMOFLOW_FMA, see Package.swift).
@inline(__always)
func fma(_ a: Lanes, _ b: Lanes, _ c: Lanes) -> Lanes {
    #if MAMMOFLOW_FMA
    c.addingProduct(a, b)
    #else
    a * b + c
    #endif
}

/// e^x in eight lanes, saturating outside [-87, 88] (results stay normal floats, never inf): x = n ln2 + r with
/// |r| <= ln2 / 2, Cephes' degree-6 polynomial for e^r (about 1 ulp), and 2^n written into the exponent bits.
/// libm's expf costs a call and a branchy scalar path per element; SiLU and sigmoid need one per activation.
@inline(__always)
func exp(_ x: Lanes) -> Lanes {
    // (pointwiseMin/Max are not inlined by the compiler: mask-and-replace is.)
    let x = x.replacing(with: 88, where: x .> 88).replacing(with: -87, where: x .< -87)
    // Adding 1.5 * 2^23 rounds x / ln2 to the nearest integer n, left in the low mantissa bits of t.
    let shifter: Float = 12_582_912
    let t = fma(x, Lanes(repeating: 1.442_695_04), Lanes(repeating: shifter))
    let n = t - shifter
    // r = x - n ln2, with ln2 split in two for accuracy
    let r = fma(n, Lanes(repeating: 2.121_944_4e-4), fma(n, Lanes(repeating: -0.693_359_375), x))
    var p = Lanes(repeating: 1.987_569_15e-4)
    p = fma(p, r, Lanes(repeating: 1.398_199_95e-3))
    p = fma(p, r, Lanes(repeating: 8.333_451_91e-3))
    p = fma(p, r, Lanes(repeating: 4.166_579_59e-2))
    p = fma(p, r, Lanes(repeating: 1.666_666_55e-1))
    p = fma(p, r, Lanes(repeating: 5.000_000_12e-1))
    let er = fma(p, r * r, r + 1)
    // bits(t) = bits(1.5 * 2^23) + n; shifting by 23 drops the constant and leaves n in the exponent field.
    let scale = unsafeBitCast(unsafeBitCast(t, to: SIMD8<Int32>.self) &<< 23 &+ 0x3F80_0000, to: Lanes.self)
    return er * scale
}

/// The logistic sigmoid 1 / (1 + e^-z) in eight lanes.
@inline(__always)
func logistic(_ z: Lanes) -> Lanes { 1 / (1 + exp(-z)) }

/// tanh(softplus(z)) in eight lanes, from e = e^z: tanh(log(1 + e)) = e(e + 2) / (e(e + 2) + 2); 1 above
/// PyTorch's softplus threshold of 20 (where tanh is 1 in float anyway).
@inline(__always)
func tanhSoftplus(_ z: Lanes) -> Lanes {
    let e = exp(z), u = e * (e + 2)
    return (u / (u + 2)).replacing(with: 1, where: z .> 20)
}

/// out[i] += a[i] * b[i], eight lanes at a time.
@inline(__always)
func multiplyAdd(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    let o = UnsafeMutableRawPointer(out), pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b)
    while i + 8 <= n {
        let off = i * 4
        let r = fma(pa.loadUnaligned(fromByteOffset: off, as: Lanes.self),
                    pb.loadUnaligned(fromByteOffset: off, as: Lanes.self),
                    o.loadUnaligned(fromByteOffset: off, as: Lanes.self))
        o.storeBytes(of: r, toByteOffset: off, as: Lanes.self)
        i += 8
    }
    while i < n { out[i] += a[i] * b[i]; i += 1 }
}

/// dst[i] = src[i]; short copies inline, since a memmove call per im2col tap costs more than a few floats.
@inline(__always)
func copyFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    if n < 64 { for i in 0..<n { dst[i] = src[i] } } else { dst.update(from: src, count: n) }
}

/// out[i] += a[i], eight lanes at a time.
@inline(__always)
func addInto(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    let o = UnsafeMutableRawPointer(out), pa = UnsafeRawPointer(a)
    while i + 8 <= n {
        let off = i * 4
        let r = o.loadUnaligned(fromByteOffset: off, as: Lanes.self)
            + pa.loadUnaligned(fromByteOffset: off, as: Lanes.self)
        o.storeBytes(of: r, toByteOffset: off, as: Lanes.self)
        i += 8
    }
    while i < n { out[i] += a[i]; i += 1 }
}

/// Adds `bias` (C) to each of `rows` rows of a (rows, C) matrix.
func addBias(_ y: UnsafeMutablePointer<Float>, _ rows: Int, _ bias: UnsafePointer<Float>, channels c: Int) {
    for r in 0..<rows { addInto(y + r * c, bias, c) }
}

/// sums[c] += sum over rows of m[r, c].
func sumRows(_ m: UnsafePointer<Float>, _ rows: Int, _ c: Int, into sums: UnsafeMutablePointer<Float>) {
    for r in 0..<rows { addInto(sums, m + r * c, c) }
}
