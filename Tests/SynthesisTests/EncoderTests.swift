import Testing
@testable import DICOM

struct EncoderTests {
    /// Optimised Huffman tables must be prefix codes no longer than 16 bits with no all-ones code (T.81 K.2),
    /// also for skewed (Fibonacci) histograms that would need longer codes without length limiting.
    @Test(arguments: [
        [5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597],
        [0, 0, 0, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [100, 400, 900, 1600, 900, 400, 100, 10, 1, 0, 0, 0, 0, 0, 0, 0, 1],
    ])
    func huffmanTableIsAValidLimitedPrefixCode(frequencies: [Int]) {
        let table = HuffmanTable(frequencies: frequencies)
        var kraft = 0.0
        for (symbol, f) in frequencies.enumerated() {
            #expect((table.lengths[symbol] > 0) == (f > 0))
            guard f > 0 else { continue }
            let length = Int(table.lengths[symbol])
            #expect(length <= 16)
            kraft += 1 / Double(1 << length)
            #expect(Int(table.codes[symbol]) != (1 << length) - 1, "all-ones code for symbol \(symbol)")
        }
        #expect(kraft < 1)
        #expect(table.counts.map(Int.init).reduce(0, +) == table.values.count)
        // Prefix-free: no code is a prefix of another.
        let used = frequencies.indices.filter { frequencies[$0] > 0 }
        for a in used { for b in used where a != b && table.lengths[a] <= table.lengths[b] {
            #expect(Int(table.codes[b]) >> Int(table.lengths[b] - table.lengths[a]) != Int(table.codes[a]))
        } }
    }

    @Test func differenceCategories() {
        #expect(JPEGLosslessEncoder.category(0) == 0)
        #expect(JPEGLosslessEncoder.category(-1) == 1)
        #expect(JPEGLosslessEncoder.category(255) == 8)
        #expect(JPEGLosslessEncoder.category(-32767) == 15)
        #expect(JPEGLosslessEncoder.category(-32768) == 16)
    }

    @Test func bitWriterStuffsFF() {
        var w = EntropyBitWriter(capacity: 4)
        w.write(0xFF, count: 8)
        w.write(0b101, count: 3)
        w.flush()
        #expect(w.finish() == [0xFF, 0x00, 0b1011_1111])
    }

    /// Part 10 structure: preamble, DICM, group length covering the meta group, tags ascending, even lengths,
    /// encapsulated pixel data with an offset table and a delimiter.
    @Test func part10Layout() throws {
        let writer = DICOMFileWriter(transferSyntax: .jpegLosslessSV1)
        let bytes = try writer.file(dataset: [
            DICOMWriterElement(Tag(0x0010, 0x0020), "LO", "123"),
            DICOMWriterElement(Tag(0x0008, 0x0016), "UI", "1.2.840.10008.5.1.4.1.1.1.2"),
            DICOMWriterElement(Tag(0x0008, 0x0018), "UI", "2.25.1"),
        ], pixels: .encapsulated(frame: [1, 2, 3]))
        #expect(Array(bytes[128..<132]) == Array("DICM".utf8))
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        #expect(u16(132) == 2 && u16(134) == 0 && Array(bytes[136..<138]) == Array("UL".utf8))
        let metaEnd = 144 + u32(140)
        // Walk the data set: tags ascending, every length even.
        var o = metaEnd, last = 0
        var tags: [Int] = []
        while o < bytes.count {
            let tag = u16(o) << 16 | u16(o + 2)
            let vr = String(decoding: bytes[(o + 4)..<(o + 6)], as: UTF8.self)
            #expect(tag > last)
            last = tag
            tags.append(tag)
            if tag == 0x7FE0_0010 { break }
            let length = u16(o + 6)
            #expect(length % 2 == 0, "odd length for \(vr)")
            o += 8 + length
        }
        #expect(tags == [0x0008_0016, 0x0008_0018, 0x0010_0020, 0x7FE0_0010])
        #expect(u32(o + 8) == 0xFFFF_FFFF)
        #expect(u16(o + 12) == 0xFFFE && u16(o + 14) == 0xE000 && u32(o + 16) == 4 && u32(o + 20) == 0)
        #expect(u32(o + 28) == 4) // the 3-byte fragment padded to 4
        #expect(Array(bytes.suffix(8)) == [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0])
    }
}
