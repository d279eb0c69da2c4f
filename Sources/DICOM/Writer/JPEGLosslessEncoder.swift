/// Errors of the lossless JPEG encoder.
public enum JPEGLosslessEncoderError: Error, CustomStringConvertible {
    case badGeometry(width: Int, height: Int, samples: Int)
    case badPrecision(Int)

    public var description: String {
        switch self {
        case .badGeometry(let w, let h, let n): return "JPEG lossless: \(w)x\(h) needs \(w * h) samples, got \(n) (each side 1...65535)"
        case .badPrecision(let p): return "JPEG lossless: precision \(p) is outside 2...16 bits"
        }
    }
}

/// JPEG lossless, process 14, selection value 1 (ITU T.81 Annex H; DICOM transfer syntax 1.2.840.10008.1.2.4.70):
/// one grey component, each sample predicted from its left neighbour (from the one above in the first column),
/// the difference's magnitude category Huffman-coded and its low bits appended. The Huffman table is built
/// for each image from its own category histogram (T.81 Annex K.2), which is what makes the file small.
public enum JPEGLosslessEncoder {
    /// Encodes `samples` (row-major, values < 2^precision) into a complete JPEG interchange stream (SOI...EOI).
    public static func encode(samples: [UInt16], width: Int, height: Int, precision: Int) throws -> [UInt8] {
        guard width >= 1, height >= 1, width <= 65535, height <= 65535, samples.count == width * height else {
            throw JPEGLosslessEncoderError.badGeometry(width: width, height: height, samples: samples.count)
        }
        guard (2...16).contains(precision) else { throw JPEGLosslessEncoderError.badPrecision(precision) }

        var histogram = [Int](repeating: 0, count: 17)
        samples.withUnsafeBufferPointer { s in
            histogram.withUnsafeMutableBufferPointer { h in
                forEachDifference(s, width: width, height: height, precision: precision) { d in h[category(d)] += 1 }
            }
        }
        let table = HuffmanTable(frequencies: histogram)

        var out: [UInt8] = [0xFF, 0xD8]
        // SOF3: lossless, Huffman; one component, id 1, no subsampling, no quantisation table.
        out += [0xFF, 0xC3, 0, 11, UInt8(precision)]
        out += [UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 1, 1, 0x11, 0]
        // DHT: DC table 0.
        let dhtLength = 2 + 1 + 16 + table.values.count
        out += [0xFF, 0xC4, UInt8(dhtLength >> 8), UInt8(dhtLength & 0xFF), 0x00] + table.counts + table.values
        // SOS: component 1 uses table 0; Ss = predictor 1, Se = 0, Ah = Al = 0 (no point transform).
        out += [0xFF, 0xDA, 0, 8, 1, 1, 0x00, 1, 0, 0x00]

        var writer = EntropyBitWriter(capacity: samples.count * precision / 8 + 1024)
        let codes = table.codes.map(UInt64.init), lengths = table.lengths.map(Int.init)
        samples.withUnsafeBufferPointer { s in
            forEachDifference(s, width: width, height: height, precision: precision) { d in
                let ssss = category(d)
                var bits = codes[ssss]
                var count = lengths[ssss]
                if ssss > 0 && ssss < 16 {
                    // Negative differences send the low bits of d - 1 (T.81 F.1.2.1.1).
                    let extra = UInt64(UInt32(bitPattern: d > 0 ? d : d - 1)) & ((1 << UInt64(ssss)) - 1)
                    bits = bits << UInt64(ssss) | extra
                    count += ssss
                }
                writer.write(bits, count: count)
            }
        }
        writer.flush()
        out += writer.finish()
        out += [0xFF, 0xD9]
        return out
    }

    /// Calls `body` with every prediction difference, reduced modulo 2^16 into -32768...32767 (H.1.2.1).
    @inline(__always)
    static func forEachDifference(_ s: UnsafeBufferPointer<UInt16>, width: Int, height: Int, precision: Int,
                                  _ body: (Int32) -> Void) {
        @inline(__always) func wrap(_ d: Int32) -> Int32 { Int32(Int16(truncatingIfNeeded: d)) }
        let initial = Int32(1) << Int32(precision - 1)
        for y in 0..<height {
            let row = y * width
            // First column: predicted from above (the very first sample from 2^(P-1)).
            let above = y == 0 ? initial : Int32(s[row - width])
            body(wrap(Int32(s[row]) - above))
            var left = Int32(s[row])
            for x in 1..<width {
                let v = Int32(s[row + x])
                body(wrap(v - left))
                left = v
            }
        }
    }

    /// SSSS: the number of bits of |d|; 16 stands for the one difference 32768 (sent with no extra bits).
    @inline(__always)
    static func category(_ d: Int32) -> Int {
        if d == -32768 { return 16 }
        let m = UInt32(d < 0 ? -d : d)
        return 32 - m.leadingZeroBitCount
    }
}

/// A JPEG Huffman table optimised for a symbol histogram (T.81 K.2: code sizes by repeated merging of the two
/// least frequent, a reserved symbol so no code is all ones, lengths limited to 16 bits), then canonical codes (C.2).
struct HuffmanTable {
    /// BITS: how many codes of each length 1...16.
    var counts: [UInt8]
    /// HUFFVAL: the symbols in order of increasing code length.
    var values: [UInt8]
    /// Per symbol: its code and its length (0 when the symbol does not occur).
    var codes: [UInt16]
    var lengths: [UInt8]

    init(frequencies: [Int]) {
        let n = frequencies.count
        // Symbol n is the reserved one with frequency 1 (K.2's FREQ(256) = 1).
        var freq = frequencies + [1]
        var codeSize = [Int](repeating: 0, count: n + 1)
        var others = [Int](repeating: -1, count: n + 1)
        while true {
            var v1 = -1, v2 = -1
            for i in 0...n where freq[i] > 0 {
                if v1 < 0 || freq[i] <= freq[v1] { v1 = i }
            }
            for i in 0...n where freq[i] > 0 && i != v1 {
                if v2 < 0 || freq[i] <= freq[v2] { v2 = i }
            }
            if v2 < 0 { break }
            freq[v1] += freq[v2]
            freq[v2] = 0
            codeSize[v1] += 1
            var j = v1
            while others[j] >= 0 { j = others[j]; codeSize[j] += 1 }
            others[j] = v2
            codeSize[v2] += 1
            j = v2
            while others[j] >= 0 { j = others[j]; codeSize[j] += 1 }
        }
        var bits = [Int](repeating: 0, count: 33)
        for i in 0...n where codeSize[i] > 0 { bits[codeSize[i]] += 1 }
        // Limit to 16 bits (K.2, Adjust_BITS).
        var i = 32
        while i > 16 {
            while bits[i] > 0 {
                var j = i - 2
                while bits[j] == 0 { j -= 1 }
                bits[i] -= 2
                bits[i - 1] += 1
                bits[j + 1] += 2
                bits[j] -= 1
            }
            i -= 1
        }
        // Remove the reserved symbol's code: it is one of the longest.
        var longest = 16
        while bits[longest] == 0 { longest -= 1 }
        bits[longest] -= 1

        // HUFFVAL: symbols sorted by code size (ties by symbol), reserved symbol excluded.
        var ordered: [UInt8] = []
        for size in 1...32 {
            for s in 0..<n where codeSize[s] == size { ordered.append(UInt8(s)) }
        }
        counts = (1...16).map { UInt8(bits[$0]) }
        values = ordered
        codes = [UInt16](repeating: 0, count: n)
        lengths = [UInt8](repeating: 0, count: n)
        // Canonical codes from BITS and HUFFVAL (C.2).
        var code = 0, k = 0
        for length in 1...16 {
            for _ in 0..<bits[length] {
                codes[Int(values[k])] = UInt16(code)
                lengths[Int(values[k])] = UInt8(length)
                code += 1
                k += 1
            }
            code <<= 1
        }
    }
}

/// Packs bits MSB first into bytes, inserting a 0x00 after every 0xFF (T.81 F.1.2.3); pads the last byte with ones.
/// Writes into a manually grown buffer: this is the encoder's inner loop, and array appends cost a uniqueness
/// check per byte.
struct EntropyBitWriter {
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var accumulator: UInt64 = 0
    private var pending = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        buffer = .allocate(capacity: self.capacity)
    }

    /// The bytes written so far; releases the buffer, so call it once, last.
    mutating func finish() -> [UInt8] {
        let bytes = Array(UnsafeBufferPointer(start: buffer, count: count))
        buffer.deallocate()
        capacity = 0
        return bytes
    }

    /// Appends the low `count` (<= 32) bits of `bits`.
    @inline(__always)
    mutating func write(_ bits: UInt64, count bitCount: Int) {
        accumulator = accumulator << UInt64(bitCount) | bits
        pending += bitCount
        if count + 16 > capacity { grow() }
        while pending >= 8 {
            pending -= 8
            let byte = UInt8(truncatingIfNeeded: accumulator >> UInt64(pending))
            buffer[count] = byte
            count += 1
            if byte == 0xFF { buffer[count] = 0; count += 1 }
        }
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
        bigger.update(from: buffer, count: count)
        buffer.deallocate()
        buffer = bigger
        capacity *= 2
    }

    mutating func flush() {
        if pending > 0 { write((1 << UInt64(8 - pending)) - 1, count: 8 - pending) }
    }
}
