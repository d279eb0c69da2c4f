#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import DICOM

/// Mutations of corpus files (truncations, flipped bytes, lying lengths, absurd dimensions) must end in a
/// decoded image or a DICOMError: no crash, no hang, and no allocation beyond what the file justifies.
@Suite struct FuzzTests {
    /// Small files covering every parser path and codec (a 64x64 JPEG lossless one is made by the synth writer).
    static let seeds = [
        "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "MR_small_padded.dcm",
        "MR_small_jp2klossless.dcm", "image_dfl.dcm", "CT_small.dcm", "rtdose_1frame.dcm", "chrH31.dcm", "simple-test.dcm",
    ]

    /// A deterministic xorshift64* generator, so a failing mutant can be replayed from its seed.
    struct Mutator {
        var state: UInt64
        init(seed: UInt64) { state = seed &* 2_685_821_657_736_338_717 | 1 }
        mutating func below(_ n: Int) -> Int {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return Int((state &* 2_685_821_657_736_338_717) >> 33) % max(1, n)
        }
    }

    /// Offsets of the values of Rows, Columns, Bits Allocated and Bits Stored (tag, then 4 bytes of VR and
    /// length or of length alone: the value is 8 bytes after the tag either way).
    static func imageAttributeValueOffsets(_ bytes: [UInt8]) -> [Int] {
        let elements: [[UInt8]] = [[0x10, 0x00], [0x11, 0x00], [0x00, 0x01], [0x01, 0x01]]
        return (0 ..< max(0, bytes.count - 10)).filter { i in
            bytes[i] == 0x28 && bytes[i + 1] == 0x00 && elements.contains([bytes[i + 2], bytes[i + 3]])
        }.map { $0 + 8 }
    }

    static func mutants(of original: [UInt8], seed: UInt64) -> [[UInt8]] {
        var rng = Mutator(seed: seed)
        var out: [[UInt8]] = []
        for fraction in [0.02, 0.1, 0.5, 0.97, 0.999] {
            out.append(Array(original.prefix(Int(Double(original.count) * fraction))))
        }
        for _ in 0 ..< 8 {  // flipped bytes, mostly in the header where structure lives
            var m = original
            for _ in 0 ..< 1 + rng.below(4) {
                let i = rng.below(8) < 6 ? rng.below(min(m.count, 2048)) : rng.below(m.count)
                m[i] ^= UInt8(1 + rng.below(255))
            }
            out.append(m)
        }
        for _ in 0 ..< 8 {  // lying lengths: 2 or 4 bytes overwritten with huge or odd values
            var m = original
            let i = 132 + rng.below(max(1, min(m.count, 4096) - 136))
            let lie: [UInt32] = [0xFFFF_FFFF, 0xFFFF_FFF0, 0x7FFF_FFFF, UInt32(m.count), 0xFFFF, 3]
            let v = lie[rng.below(lie.count)]
            for b in 0 ..< 4 where i + b < m.count { m[i + b] = UInt8(truncatingIfNeeded: v >> (8 * b)) }
            out.append(m)
        }
        for offset in imageAttributeValueOffsets(original) {  // absurd dimensions and bit depths
            for value: UInt16 in [0, 1, 0xFFFF, 0x8000, 33] where offset + 1 < original.count {
                var m = original
                m[offset] = UInt8(value & 0xFF)
                m[offset + 1] = UInt8(value >> 8)
                out.append(m)
            }
        }
        return out
    }

    static func peakResidentMB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    @Test func mutatedFilesDecodeOrFailCleanly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mammoflow-dicom-fuzz-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let before = Self.peakResidentMB()
        var decoded = 0, refused = 0
        var originals: [(String, [UInt8])] = try [("jpeg-lossless-64x64", Synthetic.file(.jpegLossless, width: 64, height: 64))]
        for name in Self.seeds {
            guard let path = Corpus.path(name), let bytes = FileManager.default.contents(atPath: path) else {
                Issue.record("seed \(name) missing")
                continue
            }
            originals.append((name, Array(bytes)))
        }
        // One round of mutants per seed file here; the reliability campaign (scripts/reliability.py) asks for
        // MAMMOFLOW_FUZZ_INPUTS of them, each round with other random mutations.
        let wanted = ProcessInfo.processInfo.environment["MAMMOFLOW_FUZZ_INPUTS"].flatMap { Int($0) } ?? 0
        var round = 0
        repeat {
            for (n, (name, original)) in originals.enumerated() {
                for (k, mutant) in Self.mutants(of: original, seed: UInt64(n + 1000 * round)).enumerated() {
                    let file = "\(directory)/\(k).dcm"
                    try Data(mutant).write(to: URL(fileURLWithPath: file))
                    do {
                        let dicom = try DICOMFile(path: file)
                        let pixels = try dicom.decodeFrame(reduce: k % 3)
                        _ = try PixelSemantics(header: try dicom.header()).render(pixels, as: .window16)
                        _ = HeaderFacts(try dicom.header())
                        decoded += 1
                    } catch let error as DICOMError {
                        #expect(!error.reason.isEmpty, "\(name) mutant \(k)")
                        refused += 1
                    } catch {
                        Issue.record("\(name) mutant \(k) of round \(round): not a DICOMError: \(error)")
                    }
                }
            }
            round += 1
        } while decoded + refused < wanted
        print("fuzz: \(decoded + refused) mutants in \(round) rounds: \(decoded) decoded, \(refused) refused with a DICOMError; peak memory grew by \(Int(Self.peakResidentMB() - before)) MB")
        #expect(decoded > 0 && refused > 0)
        // Every seed is under 1 MB; honest decoding of any mutant needs tens of MB at most.
        #expect(Self.peakResidentMB() - before < 512, "peak memory grew by \(Self.peakResidentMB() - before) MB")
    }
}
