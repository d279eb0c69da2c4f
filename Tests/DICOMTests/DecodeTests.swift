import Foundation
import Testing
@testable import DICOM

/// Codecs against the synth writer's encoders, reduction, and the output modes.
@Suite struct DecodeTests {
    @Test(arguments: [Synthetic.Encoding.native, .jpegLossless, .jpeg2000])
    func roundTripsThroughTheSynthEncoders(_ encoding: Synthetic.Encoding) throws {
        let (w, h) = (97, 61)  // odd sizes: edge blocks and odd rows
        let samples = Synthetic.pattern(width: w, height: h)
        let path = try Synthetic.temporary(try Synthetic.file(encoding, width: w, height: h))
        let pixels = try DICOMFile(path: path).decodeFrame()
        #expect(pixels.columns == w && pixels.rows == h && pixels.type == .u16)
        #expect(pixels.values == samples.map { Int32($0) })
    }

    @Test func areaReductionAveragesExactBlocksAndEdges() {
        // 5x3 -> reduce 1 -> 3x2: blocks of 2x2, the last column and row partial.
        let p = StoredPixels(rows: 3, columns: 5, type: .u16, values: [
            1, 2, 3, 4, 5,
            5, 6, 7, 8, 9,
            10, 20, 30, 40, 50,
        ])
        let r = p.areaReduced(by: 1)
        #expect(r.rows == 2 && r.columns == 3)
        // (1+2+5+6)/4 = 3.5 -> 4; (3+4+7+8)/4 = 5.5 -> 6; (5+9)/2 = 7; (10+20)/2 = 15; (30+40)/2 = 35; 50.
        #expect(r.values == [4, 6, 7, 15, 35, 50])
        let negative = StoredPixels(rows: 1, columns: 2, type: .i16, values: [-3, -4]).areaReduced(by: 1)
        #expect(negative.values == [-3])  // -3.5 rounds half up
    }

    @Test func areaReductionRoundsSignedBlocksHalfUp() {
        // Full blocks (a shift) and edge blocks (a division) must round alike: against exact rationals.
        var generator = SystemRandomNumberGenerator()
        let (w, h) = (37, 21)
        let values = (0 ..< w * h).map { _ in Int32.random(in: -32768 ... 32767, using: &generator) }
        let p = StoredPixels(rows: h, columns: w, type: .i16, values: values)
        for factor in 1 ... 3 {
            let side = 1 << factor
            let r = p.areaReduced(by: factor)
            for oy in 0 ..< r.rows {
                for ox in 0 ..< r.columns {
                    var sum = 0, n = 0
                    for y in oy * side ..< min(h, (oy + 1) * side) {
                        for x in ox * side ..< min(w, (ox + 1) * side) { sum += Int(values[y * w + x]); n += 1 }
                    }
                    let expected = Int((Double(sum) / Double(n) + 0.5).rounded(.down))
                    #expect(Int(r.values[oy * r.columns + ox]) == expected, "factor \(factor) block (\(ox), \(oy))")
                }
            }
        }
    }

    @Test func areaReductionSumsTheWidestValuesWithoutOverflow() {
        // 16-bit values sum in 32 bits (up to 256 rows of 65535 at factor 8); 32-bit ones in 64.
        let full = StoredPixels(rows: 300, columns: 260, type: .u16, values: Array(repeating: 65535, count: 300 * 260))
        #expect(full.areaReduced(by: 8).values == Array(repeating: 65535, count: 2 * 2))
        // The default 1/4 adds a block's four column sums as one vector: 16 values of 65535, edges partial.
        #expect(full.areaReduced(by: 2).values == Array(repeating: 65535, count: 75 * 65))
        let low = StoredPixels(rows: 256, columns: 2, type: .i16, values: Array(repeating: -32768, count: 512))
        #expect(low.areaReduced(by: 8).values == [-32768])
        let wide = StoredPixels(rows: 4, columns: 4, type: .u32, values: Array(repeating: Int32(bitPattern: 0xFFFF_FFF0), count: 16))
        #expect(wide.areaReduced(by: 2).values == [Int32(bitPattern: 0xFFFF_FFF0)])
    }

    /// The rounded (half up) mean of each `side` x `side` block of `values` (row-major), edge blocks smaller:
    /// the test's own reference for area reduction.
    static func blockMeans(_ values: [Int], width w: Int, height h: Int, side f: Int) -> [Int32] {
        var means: [Int32] = []
        for top in stride(from: 0, to: h, by: f) {
            for left in stride(from: 0, to: w, by: f) {
                var sum = 0, n = 0
                for y in top ..< min(h, top + f) { for x in left ..< min(w, left + f) { sum += values[y * w + x]; n += 1 } }
                means.append(Int32((2 * sum + n) / (2 * n)))
            }
        }
        return means
    }

    @Test(arguments: [Synthetic.Encoding.native, .jpegLossless])
    func reducesWhileDecodingToExactBlockMeans(_ encoding: Synthetic.Encoding) throws {
        let (w, h) = (97, 61)
        let samples = Synthetic.pattern(width: w, height: h)
        let path = try Synthetic.temporary(try Synthetic.file(encoding, width: w, height: h))
        for reduce in 1 ... 3 {
            let f = 1 << reduce
            let expected = Self.blockMeans(samples.map(Int.init), width: w, height: h, side: f)
            let small = try DICOMFile(path: path).decodeFrame(reduce: reduce)
            #expect(small.columns == (w + f - 1) / f && small.rows == (h + f - 1) / f && small.type == .u16)
            #expect(small.values == expected, "reduce \(reduce)")
        }
    }

    @Test func jpeg2000ReducesAtDecodeTimeToCeilSizes() throws {
        let (w, h) = (130, 67)
        // Smooth (long periods, no noise), so the wavelet low band and the area mean should nearly agree.
        let smooth = (0 ..< w * h).map { i in UInt16(2000 + 1500 * sin(Double(i % w) / 40) * cos(Double(i / w) / 30)) }
        let path = try Synthetic.temporary(try Synthetic.file(.jpeg2000, width: w, height: h, samples: smooth))
        let full = try DICOMFile(path: path).decodeFrame()
        for reduce in 1 ... 3 {
            let small = try DICOMFile(path: path).decodeFrame(reduce: reduce)
            let f = 1 << reduce
            #expect(small.columns == (w + f - 1) / f && small.rows == (h + f - 1) / f)
            // The 5/3 low band at level r is a smoothed image sampled at every 2^r-th pixel (centred on it,
            // not on the block's middle as an area mean is): on a smooth image it is close to those pixels.
            var total = 0.0
            for y in 0 ..< small.rows {
                for x in 0 ..< small.columns {
                    total += abs(Double(small.values[y * small.columns + x]) - Double(full.values[y * f * w + x * f]))
                }
            }
            let meanError = total / Double(small.values.count)
            #expect(meanError < 20, "reduce \(reduce): mean |J2K - sampled| = \(meanError) of 4095")
        }
    }

    @Test(arguments: [Synthetic.Encoding.native, .jpegLossless, .jpeg2000])
    func reducingByAreaGivesTheBlockMeansOfTheFullDecode(_ encoding: Synthetic.Encoding) throws {
        let (w, h) = (131, 70)
        let path = try Synthetic.temporary(try Synthetic.file(encoding, width: w, height: h, samples: Synthetic.pattern(width: w, height: h)))
        let file = try DICOMFile(path: path)
        let full = try file.decodeFrame()
        for reduce in [1, 2, 3] {
            let f = 1 << reduce
            let means = Self.blockMeans(full.values.map(Int.init), width: w, height: h, side: f)
            let byArea = try file.decodeFrame(reduce: reduce, by: .area)
            #expect(byArea.columns == (w + f - 1) / f && byArea.rows == (h + f - 1) / f)
            #expect(byArea.values == means, "\(encoding) reduce \(reduce)")
            let viewed = try file.withDecodedFrame(reduce: reduce, by: .area) { Array($0.values) }
            #expect(viewed == means, "\(encoding) reduce \(reduce), codec buffer")
            // Only JPEG 2000 has levels to take instead.
            let byLevels = try file.decodeFrame(reduce: reduce, by: .levels)
            #expect((byLevels.values == means) == (encoding != .jpeg2000), "\(encoding) reduce \(reduce), levels")
        }
    }

    @Test(arguments: [Synthetic.Encoding.native, .jpegLossless, .jpeg2000])
    func theCodecBufferViewHoldsWhatDecodeFrameReturns(_ encoding: Synthetic.Encoding) throws {
        let (w, h) = (97, 61)
        let path = try Synthetic.temporary(try Synthetic.file(encoding, width: w, height: h, samples: Synthetic.pattern(width: w, height: h)))
        // Up to 7: past the levels a small codestream has, where the rest is area-reduced after decoding.
        for reduce in [0, 1, 2, 7] {
            let copied = try DICOMFile(path: path).decodeFrame(reduce: reduce)
            let viewed = try DICOMFile(path: path).withDecodedFrame(reduce: reduce) { view in
                StoredPixels(rows: view.rows, columns: view.columns, type: view.type, values: Array(view.values))
            }
            #expect(viewed.rows == copied.rows && viewed.columns == copied.columns && viewed.type == copied.type)
            #expect(viewed.values == copied.values, "reduce \(reduce)")
        }
        #expect(throws: DICOMError.self) { try DICOMFile(path: path).withDecodedFrame(reduce: 17) { _ in 0 } }
    }

    @Test func outputModes() throws {
        // A 12-bit MONOCHROME1 image with a window: minmax8 inverts and stretches, window8 windows and inverts.
        let samples: [UInt16] = [0, 1000, 2000, 4095]
        let path = try Synthetic.temporary(try Synthetic.file(.native, width: 4, height: 1, samples: samples, photometric: "MONOCHROME1"))
        let file = try DICOMFile(path: path)
        let semantics = PixelSemantics(header: try file.header())
        let pixels = try file.decodeFrame()
        #expect(try semantics.render(pixels, as: .stored).samples == samples)
        #expect(try semantics.render(pixels, as: .stored).bits == 12)
        let minmax = try semantics.render(pixels, as: .minmax8)
        #expect(minmax.samples == [255, UInt16(Double(4095 - 1000) / 4095 * 255), UInt16(Double(4095 - 2000) / 4095 * 255), 0])
        // No window in the file: the identity over 0...4095, inverted.
        let window8 = try semantics.render(pixels, as: .window8)
        #expect(window8.samples == [255, UInt16((255 * (1 - 1000.0 / 4095)).rounded()), UInt16((255 * (1 - 2000.0 / 4095)).rounded()), 0])
    }

    @Test func signedStoredValuesAreOffsetToUnsigned() throws {
        let file = try DICOMFile(path: Corpus.path("MR_small.dcm")!)
        let header = try file.header()
        let pixels = try file.decodeFrame()
        let rendered = try PixelSemantics(header: header).render(pixels, as: .stored)
        #expect(header.isSigned && rendered.bits == header.bitsStored)
        #expect(rendered.samples[0] == UInt16(Int(pixels.values[0]) + (1 << (header.bitsStored - 1))))
    }

    @Test func unsupportedSyntaxesNameTheirUID() throws {
        for name in ["JPGExtended.dcm", "MR_small_jpeg_ls_lossless.dcm"] {
            let error = #expect(throws: DICOMError.self) { try DICOMFile(path: Corpus.path(name)!).decodeFrame() }
            #expect(error?.kind == .unsupported && error?.reason.contains("1.2.840.10008.1.2.4.") == true)
        }
    }

    @Test func aFileThatIsNotDICOMIsSaidToBeNotDICOM() throws {
        for text in ["hello\n", "site_id,patient_id,image_id\n1,2,3\n", String(repeating: "\u{7f}", count: 300)] {
            let path = try Synthetic.temporary(Array(text.utf8), name: "not.dcm")
            let error = #expect(throws: DICOMError.self) { try DICOMFile(path: path) }
            #expect(error?.kind == .malformed && error?.reason.hasPrefix("not a DICOM file") == true, "\(String(describing: error))")
        }
        // A bare data set (no preamble, no "DICM", no meta group) is still read: CT_small.dcm without them.
        let full = Array(FileManager.default.contents(atPath: Corpus.path("CT_small.dcm")!)!)
        // (0002,0000) UL, explicit VR: its 4-byte value is the meta group's length after it.
        let metaLength = Int(full[140]) | Int(full[141]) << 8 | Int(full[142]) << 16 | Int(full[143]) << 24
        let bare = try DICOMFile(path: try Synthetic.temporary(Array(full[(144 + metaLength)...]), name: "bare.dcm"))
        #expect(try bare.header().rows == 128)
    }

    @Test func headerFactsDoNotNeedThePixelData() throws {
        // The header parses even when the pixel data is cut short; decoding then fails as truncated.
        var bytes = Array(FileManager.default.contents(atPath: Corpus.path("CT_small.dcm")!)!)
        bytes.removeLast(10000)
        let path = try Synthetic.temporary(bytes)
        let error = #expect(throws: DICOMError.self) { try DICOMFile(path: path) }
        #expect(error?.kind == .truncated)
        let file = try DICOMFile(path: Corpus.path("CT_small.dcm")!)
        let facts = HeaderFacts(try file.header())
        #expect(facts.rows == 128 && facts.columns == 128 && facts.transferSyntax == "1.2.840.10008.1.2.1")
    }
}

@Suite struct FieldQuirkTests {
    /// A file whose meta group declares explicit VR little endian over an implicit-VR data set is read as
    /// implicit (the data set has no VR letters), with the same pixels.
    @Test func explicitDeclaredImplicitWrittenIsRead() throws {
        let implicitPath = Corpus.path("MR_small_implicit.dcm")!
        var bytes = Array(FileManager.default.contents(atPath: implicitPath)!)
        // (0002,0010) UI "1.2.840.10008.1.2\0" -> "1.2.840.10008.1.2.1\0", lengths fixed up.
        let tsTag: [UInt8] = [0x02, 0x00, 0x10, 0x00, 0x55, 0x49]
        let at = (0 ..< bytes.count - 6).first { Array(bytes[$0 ..< $0 + 6]) == tsTag }!
        let oldLength = Int(bytes[at + 6]) | Int(bytes[at + 7]) << 8
        let newValue = Array("1.2.840.10008.1.2.1\0".utf8)
        bytes.replaceSubrange(at + 8 ..< at + 8 + oldLength, with: newValue)
        bytes[at + 6] = UInt8(newValue.count)
        let groupLength = 132 + 8  // (0002,0000) UL value right after the preamble, DICM and its header
        let old = Int(bytes[groupLength]) | Int(bytes[groupLength + 1]) << 8
        bytes[groupLength] = UInt8((old + newValue.count - oldLength) & 0xFF)
        let file = try DICOMFile(path: try Synthetic.temporary(bytes))
        #expect(file.transferSyntax == .explicitVRLittleEndian)
        let reference = try DICOMFile(path: implicitPath).decodeFrame()
        #expect(try file.decodeFrame().values == reference.values)
    }
}
