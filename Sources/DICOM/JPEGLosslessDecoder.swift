/// JPEG lossless, process 14 (ITU T.81 Annex H): one component, predictors (selection values) 1-7, precision
/// 2-16, point transform, restart intervals. Huffman decoding is table-driven: the next 12 bits index a table
/// that, for the common short codes, gives the whole difference (code and extra bits) in one lookup.
enum JPEGLosslessDecoder {
    struct Frame {
        var width: Int
        var height: Int
        var precision: Int
        var values: [Int32]
    }

    static func decode(_ data: UnsafeRawBufferPointer, file: String) throws -> Frame {
        var parser = JPEGStream(bytes: data, file: file)
        return try parser.decode()
    }

    /// Decodes row by row, handing each finished row (point transform applied) to `row` and keeping only two
    /// rows: the frame's `values` stay empty. For a consumer that reduces the image as it arrives.
    static func decodeRows(_ data: UnsafeRawBufferPointer, file: String,
                           row: @escaping (UnsafeBufferPointer<Int32>) throws -> Void) throws -> Frame {
        var parser = JPEGStream(bytes: data, file: file)
        parser.rowSink = row
        return try parser.decode()
    }
}

/// Bits of the next table index.
private let lookahead = 12

/// A Huffman table for difference categories (SSSS 0-16), with its 12-bit lookahead table.
///
/// Each lookahead entry packs: bits 0-7 the bits to consume when the entry is complete (code plus extra bits;
/// 0 when not), bits 8-15 the code length when the code fits the lookahead (0 when longer), bits 16-31 the
/// difference as Int16 when complete, else the category.
private final class HuffmanDecodingTable {
    let lookup: UnsafeMutablePointer<UInt32>
    /// Canonical decoding for codes longer than the lookahead: largest code of each length, and where its
    /// symbols start.
    var maxCode = [Int32](repeating: -1, count: 18)
    var valueOffset = [Int32](repeating: 0, count: 18)
    var symbols: [UInt8]

    init(counts: [Int], symbols: [UInt8], file: String) throws {
        self.symbols = symbols
        lookup = .allocate(capacity: 1 << lookahead)
        lookup.initialize(repeating: 0, count: 1 << lookahead)
        var code = 0, k = 0
        for length in 1...16 {
            valueOffset[length] = Int32(k - code)
            for _ in 0 ..< counts[length - 1] {
                guard code < (1 << length) else {
                    throw DICOMError(file: file, kind: .corruptPixels, reason: "JPEG: Huffman table has too many codes of length \(length)")
                }
                let symbol = Int(symbols[k])
                guard symbol <= 16 else {
                    throw DICOMError(file: file, kind: .corruptPixels, reason: "JPEG: lossless difference category \(symbol) > 16")
                }
                if length <= lookahead {
                    let spare = lookahead - length
                    for fill in 0 ..< (1 << spare) {
                        let index = code << spare | fill
                        var entry = UInt32(length) << 8
                        if symbol == 0 {
                            entry |= UInt32(length)
                        } else if symbol < 16 && length + symbol <= lookahead {
                            let extra = (fill >> (spare - symbol)) & ((1 << symbol) - 1)
                            let diff = extendDifference(extra, symbol)
                            entry |= UInt32(length + symbol) | UInt32(UInt16(bitPattern: Int16(diff))) << 16
                        } else {
                            entry |= UInt32(symbol) << 16
                        }
                        lookup[index] = entry
                    }
                }
                code += 1
                k += 1
            }
            maxCode[length] = Int32(code - 1)
            code <<= 1
        }
        maxCode[17] = Int32.max
    }

    deinit { lookup.deallocate() }
}

/// The value of `s` extra bits `v` (T.81 F.2.2.1 EXTEND).
@inline(__always)
private func extendDifference(_ v: Int, _ s: Int) -> Int {
    v < (1 << (s - 1)) ? v - (1 << s) + 1 : v
}

/// A 64-bit bit buffer over entropy-coded data: removes stuffed zero bytes after 0xFF and stops at markers,
/// feeding zero bits past them (counted, so reading past the data is detected). The `count` valid bits are
/// the buffer's top bits (the rest zero), so a peek is a shift by a constant and a consume one shift: the
/// shortest dependency chain from one code to the next.
private struct BitReader {
    let bytes: UnsafePointer<UInt8>
    let end: Int
    var position: Int
    var buffer: UInt64 = 0
    var count = 0
    var paddingBits = 0

    @inline(__always)
    mutating func refill() {
        // Fast path: the next 8 bytes hold no 0xFF (no stuffing, no marker), so whole bytes go in at once.
        if position + 8 <= end {
            let word = UInt64(bigEndian: UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt64.self))
            let inverted = ~word
            if (inverted &- 0x0101_0101_0101_0101) & ~inverted & 0x8080_8080_8080_8080 == 0 {
                let n = (64 - count) >> 3  // whole bytes that fit: 1-8
                let taken = n == 8 ? word : word & ~(UInt64.max >> UInt64(8 * n))
                buffer |= taken >> UInt64(count)
                position += n
                count += 8 * n
                return
            }
        }
        while count <= 56 {
            var byte: UInt64 = 0
            if position < end {
                let b = bytes[position]
                if b != 0xFF {
                    position += 1
                    byte = UInt64(b)
                } else if position + 1 < end && bytes[position + 1] == 0 {
                    position += 2
                    byte = 0xFF
                } else {
                    paddingBits += 8  // a marker: leave it for the caller
                }
            } else {
                paddingBits += 8
            }
            buffer |= byte << UInt64(56 - count)
            count += 8
        }
    }

    /// The next `n` bits (1-32), not consumed.
    @inline(__always)
    func peek(_ n: Int) -> Int { Int(truncatingIfNeeded: buffer >> UInt64(64 - n)) }

    @inline(__always)
    mutating func consume(_ n: Int) {
        buffer = buffer << UInt64(n)
        count -= n
    }

    /// True when decoding consumed bits that were not in the data.
    var overran: Bool { count < paddingBits }

    mutating func reset() {
        buffer = 0
        count = 0
        paddingBits = 0
    }
}

/// Sample values are at most 16 bits, so the predictors' sums cannot overflow Int32: the arithmetic is unchecked.
private protocol Predictor {
    static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32
}
private enum Predict1: Predictor { @inline(__always) static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32 { ra } }
private enum Predict2: Predictor { @inline(__always) static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32 { rb } }
private enum Predict3: Predictor { @inline(__always) static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32 { rc } }
private enum Predict4: Predictor { @inline(__always) static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32 { ra &+ rb &- rc } }
private enum Predict5: Predictor { @inline(__always) static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32 { ra &+ ((rb &- rc) &>> 1) } }
private enum Predict6: Predictor { @inline(__always) static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32 { rb &+ ((ra &- rc) &>> 1) } }
private enum Predict7: Predictor { @inline(__always) static func predict(_ ra: Int32, _ rb: Int32, _ rc: Int32) -> Int32 { (ra &+ rb) &>> 1 } }

private struct JPEGStream {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var position = 0
    var tables: [HuffmanDecodingTable?] = [nil, nil, nil, nil]
    var restartInterval = 0
    var width = 0, height = 0, precision = 0
    var componentID = -1
    /// When set, rows go here as they are decoded instead of into a full-size frame.
    var rowSink: ((UnsafeBufferPointer<Int32>) throws -> Void)? = nil

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    func corrupt(_ reason: String) -> DICOMError { DICOMError(file: file, kind: .corruptPixels, reason: "JPEG lossless: \(reason)") }

    mutating func u8() throws -> Int {
        guard position < bytes.count else { throw corrupt("data ends inside a marker segment") }
        defer { position += 1 }
        return Int(bytes[position])
    }

    mutating func u16() throws -> Int { (try u8() << 8) | (try u8()) }

    /// The next marker code, skipping fill bytes.
    mutating func marker() throws -> Int {
        guard try u8() == 0xFF else { throw corrupt("expected a marker at offset \(position - 1)") }
        var code = try u8()
        while code == 0xFF { code = try u8() }
        return code
    }

    mutating func decode() throws -> JPEGLosslessDecoder.Frame {
        guard try marker() == 0xD8 else { throw corrupt("no SOI marker: not a JPEG stream") }
        while true {
            let code = try marker()
            switch code {
            case 0xC3:
                try readFrameHeader()
            case 0xC0, 0xC1, 0xC2, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF:
                throw DICOMError(file: file, kind: .unsupported,
                                 reason: "JPEG stream is process SOF\(code - 0xC0), not lossless process 14 (SOF3)")
            case 0xC4:
                try readHuffmanTables()
            case 0xDD:
                guard try u16() == 4 else { throw corrupt("bad DRI length") }
                restartInterval = try u16()
            case 0xDA:
                return try readScan()
            case 0xD9:
                throw corrupt("EOI before any scan")
            case 0x01, 0xD0...0xD7:
                continue
            default:
                let length = try u16()
                guard length >= 2, position + length - 2 <= bytes.count else { throw corrupt("marker segment FF\(String(code, radix: 16)) overruns the data") }
                position += length - 2
            }
        }
    }

    mutating func readFrameHeader() throws {
        let length = try u16()
        precision = try u8()
        height = try u16()
        width = try u16()
        let components = try u8()
        guard length == 8 + 3 * components else { throw corrupt("SOF3 length \(length) for \(components) components") }
        guard (2...16).contains(precision) else { throw corrupt("precision \(precision) outside 2-16") }
        guard components == 1 else {
            throw DICOMError(file: file, kind: .unsupported, reason: "JPEG lossless with \(components) components (only greyscale is decoded)")
        }
        guard width > 0, height > 0 else { throw corrupt("frame size \(width)x\(height) (DNL is not supported)") }
        componentID = try u8()
        position += 2
    }

    mutating func readHuffmanTables() throws {
        let start = position
        let end = start + (try u16())
        guard end <= bytes.count else { throw corrupt("DHT overruns the data") }
        while position < end {
            let classAndID = try u8()
            let id = classAndID & 0x0F
            guard id < 4 else { throw corrupt("Huffman table id \(id)") }
            var counts = [Int](repeating: 0, count: 16)
            for i in 0..<16 { counts[i] = try u8() }
            let total = counts.reduce(0, +)
            guard total <= 256, position + total <= end else { throw corrupt("Huffman table of \(total) symbols overruns DHT") }
            let symbols = (0..<total).map { bytes[position + $0] }
            position += total
            tables[id] = try HuffmanDecodingTable(counts: counts, symbols: symbols, file: file)
        }
    }

    mutating func readScan() throws -> JPEGLosslessDecoder.Frame {
        guard width > 0 else { throw corrupt("SOS before SOF3") }
        _ = try u16()
        guard try u8() == 1 else { throw corrupt("scan with more than one component") }
        guard try u8() == componentID else { throw corrupt("scan names an unknown component") }
        let tableID = (try u8()) >> 4
        let selection = try u8()
        _ = try u8()
        let pointTransform = (try u8()) & 0x0F
        guard (1...7).contains(selection) else { throw corrupt("selection value \(selection) outside 1-7") }
        guard tableID < 4, let table = tables[tableID] else { throw corrupt("scan uses undefined Huffman table \(tableID)") }
        guard pointTransform < precision else { throw corrupt("point transform \(pointTransform) >= precision \(precision)") }

        // Only as many pixels as the entropy-coded data can hold (every code is at least 1 bit) are allocated.
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, count <= 8 * (bytes.count - position) + 64 else {
            throw corrupt("\(width)x\(height) pixels cannot fit in \(bytes.count - position) bytes")
        }
        // A row sink needs only the row being decoded and the one above it (the predictors' neighbours).
        let ring = rowSink == nil ? height : min(2, height)
        var values = [Int32](repeating: 0, count: width * ring)
        var shifted = [Int32](repeating: 0, count: rowSink == nil || pointTransform == 0 ? 0 : width)
        let sink = rowSink, width = self.width
        try bytes.withMemoryRebound(to: UInt8.self) { raw in
            var reader = BitReader(bytes: raw.baseAddress!, end: raw.count, position: position)
            try shifted.withUnsafeMutableBufferPointer { buffer in
                let shiftedRow = buffer
                // A finished row to the sink, with the point transform undone (the ring keeps the coded values).
                let emit: ((UnsafeMutablePointer<Int32>) throws -> Void)? = sink.map { sink in { row in
                    guard pointTransform > 0 else { return try sink(UnsafeBufferPointer(start: row, count: width)) }
                    for x in 0 ..< width { shiftedRow[x] = row[x] << Int32(pointTransform) }
                    try sink(UnsafeBufferPointer(shiftedRow))
                } }
                try values.withUnsafeMutableBufferPointer { out in
                    let o = out.baseAddress!
                    switch selection {
                    case 1: try decodeScan(Predict1.self, &reader, table, o, ring, pointTransform, emit)
                    case 2: try decodeScan(Predict2.self, &reader, table, o, ring, pointTransform, emit)
                    case 3: try decodeScan(Predict3.self, &reader, table, o, ring, pointTransform, emit)
                    case 4: try decodeScan(Predict4.self, &reader, table, o, ring, pointTransform, emit)
                    case 5: try decodeScan(Predict5.self, &reader, table, o, ring, pointTransform, emit)
                    case 6: try decodeScan(Predict6.self, &reader, table, o, ring, pointTransform, emit)
                    default: try decodeScan(Predict7.self, &reader, table, o, ring, pointTransform, emit)
                    }
                }
            }
        }
        if rowSink != nil { values = [] }
        if pointTransform > 0 {
            let shift = Int32(pointTransform)
            for i in values.indices { values[i] <<= shift }
        }
        return JPEGLosslessDecoder.Frame(width: width, height: height, precision: precision, values: values)
    }

    /// Decodes every sample into `out` (row-major), row y at row y % `ring` (a ring of 2 keeps the row above),
    /// each finished row also handed to `emit`. The first line of the scan and of each restart interval
    /// predicts from the left neighbour; its first sample from 2^(P-Pt-1).
    private func decodeScan<P: Predictor>(_: P.Type, _ reader: inout BitReader, _ table: HuffmanDecodingTable,
                                          _ out: UnsafeMutablePointer<Int32>, _ ring: Int, _ pointTransform: Int,
                                          _ emit: ((UnsafeMutablePointer<Int32>) throws -> Void)?) throws {
        let initial = Int32(1 << (precision - pointTransform - 1))
        let mask: Int32 = 0xFFFF
        var left = restartInterval > 0 ? restartInterval : Int.max
        var firstLine = 0
        var reset = true
        for y in 0 ..< height {
            let row = out + (y % ring) * width
            let above = out + ((y + ring - 1) % ring) * width
            var x = 0
            while x < width {
                if left == 0 {
                    try restart(&reader)
                    left = restartInterval
                    firstLine = y
                    reset = true
                }
                let stop = min(width, x + left)
                left -= stop - x
                if reset {
                    row[x] = (initial + (try nextDifference(&reader, table))) & mask
                    reset = false
                    x += 1
                } else if x == 0 {
                    row[0] = (above[0] + (try nextDifference(&reader, table))) & mask
                    x = 1
                }
                if y == firstLine {
                    try decodeRun(Predict1.self, &reader, table, row, above, x, stop)
                } else {
                    try decodeRun(P.self, &reader, table, row, above, x, stop)
                }
                x = stop
            }
            try emit?(row)
        }
        guard !reader.overran else { throw corrupt("entropy-coded data ends before the last pixel") }
    }

    @inline(__always)
    private func nextDifference(_ r: inout BitReader, _ table: HuffmanDecodingTable) throws -> Int32 {
        if r.count < 32 { r.refill() }
        let entry = table.lookup[r.peek(lookahead)]
        let complete = Int(entry & 0xFF)
        if complete != 0 {
            r.consume(complete)
            return Int32(Int16(bitPattern: UInt16(truncatingIfNeeded: entry >> 16)))
        }
        return try slowDifference(&r, table, entry)
    }

    /// Samples `start..<stop` of `row` (start >= 1), each predicted from its neighbours by `P`. The hot loop:
    /// the bit buffer, the left and upper-left neighbours stay in registers, and arithmetic that cannot overflow
    /// is unchecked (a count never exceeds 64; samples are masked to 16 bits), so a sample costs one table look-up
    /// on the common path. The buffer is refilled only when it holds less than one look-up's bits (a complete
    /// entry consumes at most that many; the slow path refills for its own): about every 8 samples instead of
    /// every 5 with a refill below 32 bits, a 4096x3328 image at reduce 2 54.2 -> 49.8 ms. Same values as
    /// `nextDifference` sample by sample.
    @inline(__always)
    private func decodeRun<P: Predictor>(_: P.Type, _ r: inout BitReader, _ table: HuffmanDecodingTable,
                                         _ row: UnsafeMutablePointer<Int32>, _ above: UnsafeMutablePointer<Int32>,
                                         _ start: Int, _ stop: Int) throws {
        let lookup = UnsafePointer(table.lookup)
        let mask: Int32 = 0xFFFF
        var buffer = r.buffer, count = r.count
        var left = row[start - 1], upperLeft = above[start - 1]
        var x = start
        while x < stop {
            if count < lookahead {
                r.buffer = buffer; r.count = count
                r.refill()
                buffer = r.buffer; count = r.count
            }
            let entry = lookup[Int(truncatingIfNeeded: buffer &>> UInt64(64 - lookahead))]
            let used = Int(truncatingIfNeeded: entry & 0xFF)
            let difference: Int32
            if _fastPath(used != 0) {
                // Shifted by the entry itself: a masking shift reads its low 6 bits, which are `used` (at most
                // 12), so no extraction sits between the look-up and the next one.
                buffer &<<= UInt64(truncatingIfNeeded: entry)
                count &-= used
                difference = Int32(truncatingIfNeeded: Int16(truncatingIfNeeded: entry &>> 16))
            } else {
                r.buffer = buffer; r.count = count
                difference = try slowDifference(&r, table, entry)
                buffer = r.buffer; count = r.count
            }
            let up = above[x]
            let value = (P.predict(left, up, upperLeft) &+ difference) & mask
            row[x] = value
            left = value
            upperLeft = up
            x &+= 1
        }
        r.buffer = buffer; r.count = count
    }

    /// Codes longer than the lookahead, or whose extra bits do not fit it (up to 32 bits: refilled first).
    private func slowDifference(_ r: inout BitReader, _ table: HuffmanDecodingTable, _ entry: UInt32) throws -> Int32 {
        if r.count < 32 { r.refill() }
        var category: Int
        let codeLength = Int((entry >> 8) & 0xFF)
        if codeLength != 0 {
            category = Int(entry >> 16)
            r.consume(codeLength)
        } else {
            var length = lookahead + 1
            var code = r.peek(length)
            while length <= 16 && Int32(code) > table.maxCode[length] {
                length += 1
                code = r.peek(length)
            }
            guard length <= 16 else { throw corrupt("invalid Huffman code") }
            let index = Int(table.valueOffset[length]) + code
            guard index >= 0, index < table.symbols.count else { throw corrupt("invalid Huffman code") }
            category = Int(table.symbols[index])
            r.consume(length)
        }
        if category == 16 { return 32768 }
        if category == 0 { return 0 }
        let extra = r.peek(category)
        r.consume(category)
        return Int32(extendDifference(extra, category))
    }

    /// Ends a restart interval: drops the padding bits and expects an RSTn marker.
    private func restart(_ r: inout BitReader) throws {
        guard !r.overran else { throw corrupt("entropy-coded data ends inside a restart interval") }
        var p = r.position
        guard p + 1 < r.end, r.bytes[p] == 0xFF else { throw corrupt("expected a restart marker at offset \(p)") }
        while p < r.end && r.bytes[p] == 0xFF { p += 1 }
        guard p < r.end, (0xD0...0xD7).contains(r.bytes[p]) else { throw corrupt("expected a restart marker at offset \(p)") }
        r.position = p + 1
        r.reset()
    }
}
