import Foundation
import Testing
@testable import DICOM

/// Restart intervals, selection values and precisions the corpus lacks (its JPEG files have no RSTn markers).
/// The streams come from a small reference encoder written from T.81 Annex H here: a fixed Huffman table
/// (every category a 5-bit code), all seven predictors, restart intervals anywhere in a row, point transform.
@Suite struct RestartTests {
    /// Encodes `samples` (already shifted right by `pointTransform`) as a process 14 JPEG stream.
    static func encode(_ samples: [Int], width: Int, height: Int, precision: Int, selection: Int,
                       restartInterval: Int, pointTransform: Int = 0) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        func segment(_ marker: UInt8, _ body: [UInt8]) {
            out += [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body
        }
        segment(0xC3, [UInt8(precision), UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 1, 1, 0x11, 0])
        segment(0xC4, [0x00, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + (0...16).map { UInt8($0) })
        if restartInterval > 0 { segment(0xDD, [UInt8(restartInterval >> 8), UInt8(restartInterval & 0xFF)]) }
        segment(0xDA, [1, 1, 0x00, UInt8(selection), 0, UInt8(pointTransform)])

        var accumulator = 0, bits = 0
        func put(_ value: Int, _ n: Int) {
            for i in stride(from: n - 1, through: 0, by: -1) {
                accumulator = accumulator << 1 | (value >> i) & 1
                bits += 1
                if bits == 8 {
                    out.append(UInt8(accumulator))
                    if accumulator == 0xFF { out.append(0) }
                    accumulator = 0; bits = 0
                }
            }
        }
        func flush() { if bits > 0 { put((1 << (8 - bits)) - 1, 8 - bits) } }

        let p = precision - pointTransform
        var intervalStart = 0, marker = 0
        for i in 0 ..< samples.count {
            if restartInterval > 0 && i > 0 && i % restartInterval == 0 {
                flush()
                out += [0xFF, UInt8(0xD0 + marker % 8)]
                marker += 1
                intervalStart = i
            }
            let x = i % width, y = i / width
            let firstLine = y == intervalStart / width
            let ra = x > 0 ? samples[i - 1] : 0, rb = y > 0 ? samples[i - width] : 0, rc = x > 0 && y > 0 ? samples[i - width - 1] : 0
            let predicted: Int
            if i == intervalStart { predicted = 1 << (p - 1) }
            else if firstLine { predicted = ra }
            else if x == 0 { predicted = rb }
            else {
                switch selection {
                case 1: predicted = ra
                case 2: predicted = rb
                case 3: predicted = rc
                case 4: predicted = ra + rb - rc
                case 5: predicted = ra + ((rb - rc) >> 1)
                case 6: predicted = rb + ((ra - rc) >> 1)
                default: predicted = (ra + rb) >> 1
                }
            }
            var d = (samples[i] - predicted) & 0xFFFF
            if d >= 32768 { d -= 65536 }
            let category = d == 0 ? 0 : (d == -32768 ? 16 : Int.bitWidth - abs(d).leadingZeroBitCount)
            put(category, 5)
            if category > 0 && category < 16 { put(d < 0 ? d + (1 << category) - 1 : d, category) }
        }
        flush()
        return out + [0xFF, 0xD9]
    }

    @Test(arguments: [(1, 16, 0), (2, 7, 0), (3, 8, 3), (4, 12, 0), (5, 16, 1), (6, 2, 0), (7, 13, 0)])
    func decodesEveryPredictorWithRestarts(_ selection: Int, _ precision: Int, _ pointTransform: Int) throws {
        let (w, h) = (23, 9)
        var state = UInt32(selection * 7919)
        let p = precision - pointTransform
        let shifted = (0 ..< w * h).map { i -> Int in
            state = state &* 1_664_525 &+ 1_013_904_223
            let smooth = Double(i % w) / Double(w) * 0.6 + Double(i / w) / Double(h) * 0.3
            return min((1 << p) - 1, Int(smooth * Double((1 << p) - 1)) + Int(state >> 30))
        }
        // Intervals: none, whole rows, and mid-row (one sample, 10 samples).
        for interval in [0, w, 2 * w, 10, 1] {
            let stream = Self.encode(shifted, width: w, height: h, precision: precision, selection: selection,
                                     restartInterval: interval, pointTransform: pointTransform)
            let frame = try stream.withUnsafeBytes { try JPEGLosslessDecoder.decode($0, file: "test") }
            #expect(frame.width == w && frame.height == h && frame.precision == precision)
            #expect(frame.values == shifted.map { Int32($0 << pointTransform) }, "SV\(selection) P\(precision) Pt\(pointTransform) Ri\(interval)")
            // Row by row (two rows kept): the same values, point transform applied.
            var rows: [Int32] = []
            let streamed = try stream.withUnsafeBytes { try JPEGLosslessDecoder.decodeRows($0, file: "test") { rows += $0 } }
            #expect(streamed.values.isEmpty && rows == frame.values, "rows: SV\(selection) P\(precision) Pt\(pointTransform) Ri\(interval)")
        }
    }

    @Test func missingRestartMarkerIsAnError() throws {
        let samples = (0 ..< 64).map { $0 * 3 }
        var stream = Self.encode(samples, width: 8, height: 8, precision: 8, selection: 1, restartInterval: 8)
        let rst = (0 ..< stream.count - 1).first { stream[$0] == 0xFF && stream[$0 + 1] == 0xD0 }!
        stream[rst + 1] = 0xC8  // no longer a restart marker
        #expect(throws: DICOMError.self) { try stream.withUnsafeBytes { try JPEGLosslessDecoder.decode($0, file: "test") } }
    }
}
