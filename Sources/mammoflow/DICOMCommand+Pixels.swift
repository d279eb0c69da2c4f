import ArgumentParser
import DICOM
import Foundation
import Imaging
import Shards

extension DICOMCommand {
    struct Pixels: ParsableCommand {
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
            let pixels = try dicom.decodeFrame(reduce: decode.reduce, by: decode.reduceBy, threads: decode.threads)
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
}
