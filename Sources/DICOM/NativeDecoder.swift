/// Stored values of uncompressed (native) pixel data: 8, 16 or 32 bits, either byte order; signed values
/// sign-extended from Bits Stored.
enum NativeDecoder {
    static func decode(_ frame: UnsafeRawBufferPointer, header h: ImageHeader, bigEndian: Bool, swapWords8: Bool) -> [Int32] {
        let n = h.rows * h.columns
        var out = [Int32](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { decode(frame, header: h, bigEndian: bigEndian, swapWords8: swapWords8, pixels: 0 ..< n, into: $0) }
        return out
    }

    /// Pixels `pixels` (row-major indices) of the frame into `dst`, sign-extended: one row at a time lets a
    /// reducer average the image without holding it.
    static func decode(_ frame: UnsafeRawBufferPointer, header h: ImageHeader, bigEndian: Bool, swapWords8: Bool,
                       pixels: Range<Int>, into dst: UnsafeMutableBufferPointer<Int32>) {
        let first = pixels.lowerBound
        switch h.bitsAllocated {
        case 8:
            for i in pixels {
                // 8-bit OW data in big endian is stored in byte-swapped 16-bit words.
                dst[i - first] = Int32(frame[swapWords8 ? i ^ 1 : i])
            }
        case 16:
            for i in pixels {
                let v = frame.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                dst[i - first] = Int32(bigEndian ? UInt16(bigEndian: v) : UInt16(littleEndian: v))
            }
        default:
            for i in pixels {
                let v = frame.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                dst[i - first] = Int32(bitPattern: bigEndian ? UInt32(bigEndian: v) : UInt32(littleEndian: v))
            }
        }
        signExtend(UnsafeMutableBufferPointer(rebasing: dst[0 ..< pixels.count]), header: h)
    }

    /// Signed images: the value is the low Bits Stored bits as two's complement (higher bits are ignored).
    static func signExtend(_ values: inout [Int32], header h: ImageHeader) {
        values.withUnsafeMutableBufferPointer { signExtend($0, header: h) }
    }

    static func signExtend(_ v: UnsafeMutableBufferPointer<Int32>, header h: ImageHeader) {
        guard h.isSigned, h.bitsStored < 32 else { return }
        let shift = Int32(32 - h.bitsStored)
        for i in v.indices { v[i] = (v[i] << shift) >> shift }
    }
}

/// RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits segment per byte
/// plane, most significant byte first.
enum RLEDecoder {
    static func decode(_ data: UnsafeRawBufferPointer, header h: ImageHeader, file: String) throws -> [Int32] {
        func corrupt(_ reason: String) -> DICOMError { DICOMError(file: file, kind: .corruptPixels, reason: "RLE: \(reason)") }
        guard data.count >= 64 else { throw corrupt("fragment of \(data.count) bytes has no 64-byte header") }
        let count = Int(UInt32(littleEndian: data.loadUnaligned(as: UInt32.self)))
        let planes = h.bitsAllocated / 8
        guard count == planes else { throw corrupt("\(count) segments for \(h.bitsAllocated)-bit samples (expected \(planes))") }
        let starts = (0..<count).map { Int(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 + 4 * $0, as: UInt32.self))) }
        let n = h.rows * h.columns
        // A run byte pair expands to at most 128 bytes: more pixels than that cannot be in this fragment.
        guard n <= 64 * data.count else { throw corrupt("\(h.columns)x\(h.rows) cannot fit in \(data.count) bytes") }
        var out = [Int32](repeating: 0, count: n)
        var plane = [UInt8](repeating: 0, count: n)
        for s in 0..<count {
            let start = starts[s], end = s + 1 < count ? starts[s + 1] : data.count
            guard start >= 64, start <= end, end <= data.count else { throw corrupt("segment \(s) offset \(start) out of range") }
            var i = start, o = 0
            while o < n && i < end {
                let control = Int(Int8(bitPattern: data[i]))
                i += 1
                if control >= 0 {
                    let run = control + 1
                    guard i + run <= end, o + run <= n else { throw corrupt("literal run overruns segment \(s)") }
                    for k in 0..<run { plane[o + k] = data[i + k] }
                    i += run; o += run
                } else if control != -128 {
                    let run = 1 - control
                    guard i < end, o + run <= n else { throw corrupt("replicate run overruns segment \(s)") }
                    let b = data[i]
                    for k in 0..<run { plane[o + k] = b }
                    i += 1; o += run
                }
            }
            guard o == n else { throw corrupt("segment \(s) decodes to \(o) bytes, the frame needs \(n)") }
            let shift = Int32(8 * (count - 1 - s))
            for k in 0..<n { out[k] |= Int32(plane[k]) << shift }
        }
        NativeDecoder.signExtend(&out, header: h)
        return out
    }
}
