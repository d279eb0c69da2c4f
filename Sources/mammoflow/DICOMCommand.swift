#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DICOM
import Foundation
import Imaging
import Shards
import Stages

/// `mammoflow dicom info|pixels|time`: look inside DICOM files the way the decode stage sees them.
struct DICOMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom",
        abstract: "Read DICOM files: header facts, pixels in several value spaces, decode timing.",
        subcommands: [DICOMInfo.self, DICOMPixels.self, DICOMTime.self]
    )
}

/// What `--reduce` and `--threads` mean everywhere below.
struct DecodeOptions: ParsableArguments {
    @Option(help: "Resolution reduction: 1/2^N of each side (JPEG 2000 at decode time, others by area averaging).")
    var reduce = 0
    @Option(help: "libopenjp2 threads for one image (time: workers over several files).")
    var threads = 1
    @Option(help: "Which window (or VOI LUT) to use when the file has several.")
    var voi = 0
}

struct DICOMInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print a file's header facts as JSON (pixel data is not read).")

    @Argument(help: "A DICOM file.") var file: String

    func run() throws {
        let dicom = try DICOMFile(path: file)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(HeaderFacts(try dicom.header())), as: UTF8.self))
    }
}

struct DICOMPixels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixels",
        abstract: "Write frame 0's pixels as .raw, .png (16-bit) or .pgm (16-bit).",
        discussion: """
        --values stored: the stored values; .raw in their natural type (u8/u16/u32/i16/i32, little endian).
        --values modality: after the Modality LUT (rescale or LUT); .raw as float32.
        --values display: after Modality LUT, VOI (window or VOI LUT) and MONOCHROME1 inversion, 0...1 with
          1 the densest; .raw as float32. In .png/.pgm, display is scaled to 0...65535, modality spans its
          range, signed stored values are offset by 2^(BitsStored-1).
        """)

    enum Values: String, ExpressibleByArgument, CaseIterable { case stored, modality, display }

    @Argument(help: "A DICOM file.") var file: String
    @Option(help: "stored | modality | display") var values: Values = .display
    @OptionGroup var decode: DecodeOptions
    @Option(name: .short, help: "Output file: .raw, .png or .pgm.") var output: String

    func run() throws {
        let ext = URL(fileURLWithPath: output).pathExtension.lowercased()
        guard ["raw", "png", "pgm"].contains(ext) else { throw ValidationError("-o must end in .raw, .png or .pgm") }
        let dicom = try DICOMFile(path: file)
        let header = try dicom.header()
        let pixels = try dicom.decodeFrame(reduce: decode.reduce, threads: decode.threads)
        let semantics = PixelSemantics(header: header, voiIndex: decode.voi)
        if ext == "raw" {
            let bytes: [UInt8]
            switch values {
            case .stored: bytes = pixels.littleEndianBytes()
            case .modality: bytes = float32Bytes(semantics.modalityImage(pixels))
            case .display: bytes = float32Bytes(semantics.displayImage(pixels))
            }
            try writeFileAtomically(output, bytes)
        } else {
            let image: GrayImage
            switch values {
            case .stored:
                let r = try semantics.render(pixels, as: .stored)
                image = GrayImage(width: r.width, height: r.height, bits: r.bits, pixels: r.samples)
            case .modality:
                let m = semantics.modalityImage(pixels)
                let low = m.min() ?? 0, high = m.max() ?? 0
                let scale = high > low ? 65535 / (high - low) : 0
                image = GrayImage(width: pixels.columns, height: pixels.rows, bits: 16,
                                  pixels: m.map { UInt16((($0 - low) * scale).rounded()) })
            case .display:
                let r = try semantics.render(pixels, as: .window16)
                image = GrayImage(width: r.width, height: r.height, bits: 16, pixels: r.samples)
            }
            try writeFileAtomically(output, ext == "png" ? try PNG.encode(image) : pgm(image))
        }
        FileHandle.standardError.write(Data("\(output): \(pixels.columns)x\(pixels.rows) \(values.rawValue)\n".utf8))
    }

    func float32Bytes(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBytes { raw in (0 ..< values.count).flatMap { i -> [UInt8] in
            let bits = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian
            return [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                    UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        } }
    }

    /// Binary PGM, 16-bit samples big endian (maxval 65535) or 8-bit for images of 8 bits or fewer.
    func pgm(_ image: GrayImage) -> [UInt8] {
        let maxValue = image.bits <= 8 ? 255 : 65535
        var out = Array("P5\n\(image.width) \(image.height)\n\(maxValue)\n".utf8)
        out.reserveCapacity(out.count + image.pixels.count * (maxValue == 255 ? 1 : 2))
        for v in image.pixels {
            if maxValue == 255 { out.append(UInt8(truncatingIfNeeded: v)) } else { out += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        }
        return out
    }
}

/// Decode timing for the bench: each file decoded `--repeat` times (best kept), files spread over workers.
struct DICOMTime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time",
        abstract: "Time decoding (as the decode stage does: decode + render) and print JSON: images/s, best ms, peak memory.")

    @Argument(help: "DICOM files.") var files: [String]
    @OptionGroup var decode: DecodeOptions
    @Option(help: "Decodes of each file; the best time is reported per image.") var `repeat` = 1
    @Option(help: "Parallel workers over the files (each decodes with --threads).") var workers = 1
    @Option(help: "stored | window16 | window8 | minmax8 (as the decode stage's values).") var values = "window16"

    func run() throws {
        guard let mode = OutputValues(rawValue: values) else { throw ValidationError("--values: one of \(OutputValues.allCases.map(\.rawValue))") }
        let started = Date()
        var best: [Double] = []
        var failures: [String] = []
        orderedParallelMap(count: files.count, threads: workers, work: { i -> Result<Double, Error> in
            Result {
                var fastest = Double.infinity
                for _ in 0 ..< max(1, self.repeat) {
                    let t0 = Date()
                    let dicom = try DICOMFile(path: files[i])
                    let pixels = try dicom.decodeFrame(reduce: decode.reduce, threads: decode.threads)
                    _ = try PixelSemantics(header: try dicom.header(), voiIndex: decode.voi).render(pixels, as: mode)
                    fastest = min(fastest, Date().timeIntervalSince(t0))
                }
                return fastest
            }
        }, consume: { i, result in
            switch result {
            case .success(let s): best.append(s)
            case .failure(let e): failures.append("\(files[i]): \(e)")
            }
        })
        let seconds = Date().timeIntervalSince(started)
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let report: JSONValue = [
            "images": .int(Int64(best.count)), "failed": .array(failures.map { .string($0) }),
            "seconds": .double(seconds), "images_per_second": .double(Double(best.count * max(1, self.repeat)) / seconds),
            "best_ms": .double((best.min() ?? 0) * 1000), "median_ms": .double(best.isEmpty ? 0 : best.sorted()[best.count / 2] * 1000),
            "peak_rss_mb": .double(Double(usage.ru_maxrss) / 1024),
        ]
        print(report.canonicalText)
    }
}
