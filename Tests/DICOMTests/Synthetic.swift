import Foundation
@testable import DICOM

/// Small DICOM files made with the synth engineer's writer and encoders (an implementation independent of
/// the decoders), from a smooth 12-bit test pattern with some texture.
enum Synthetic {
    enum Encoding { case native, jpegLossless, jpeg2000 }

    static func pattern(width: Int, height: Int, bits: Int = 12) -> [UInt16] {
        var state: UInt32 = 12345
        return (0 ..< width * height).map { i in
            state = state &* 1_103_515_245 &+ 12345
            let x = Double(i % width), y = Double(i / width)
            let smooth = 0.5 + 0.35 * sin(x / 7) * cos(y / 11)
            let noise = Double(state >> 24) / 255 * 0.1
            return UInt16(min(Double((1 << bits) - 1), (smooth + noise) * Double((1 << bits) - 1)))
        }
    }

    static func file(_ encoding: Encoding, width: Int, height: Int, bits: Int = 12,
                     samples: [UInt16]? = nil, photometric: String = "MONOCHROME2") throws -> [UInt8] {
        let pixels = samples ?? pattern(width: width, height: height, bits: bits)
        let dataset: [DICOMWriterElement] = [
            DICOMWriterElement(.sopClassUID, "UI", "1.2.840.10008.5.1.4.1.1.1.2"),
            DICOMWriterElement(.sopInstanceUID, "UI", "2.25.1"),
            .us(.samplesPerPixel, 1),
            DICOMWriterElement(.photometricInterpretation, "CS", photometric),
            .us(.rows, UInt16(height)), .us(.columns, UInt16(width)),
            .us(.bitsAllocated, 16), .us(.bitsStored, UInt16(bits)), .us(.highBit, UInt16(bits - 1)),
            .us(.pixelRepresentation, 0),
        ]
        switch encoding {
        case .native:
            return try DICOMFileWriter(transferSyntax: .explicitVRLittleEndian).file(dataset: dataset, pixels: .native16(pixels))
        case .jpegLossless:
            let frame = try JPEGLosslessEncoder.encode(samples: pixels, width: width, height: height, precision: bits)
            return try DICOMFileWriter(transferSyntax: .jpegLosslessSV1).file(dataset: dataset, pixels: .encapsulated(frame: frame))
        case .jpeg2000:
            let frame = try JPEG2000Encoder.encode(samples: pixels, width: width, height: height, precision: bits)
            return try DICOMFileWriter(transferSyntax: .jpeg2000Lossless).file(dataset: dataset, pixels: .encapsulated(frame: frame))
        }
    }

    /// Writes bytes to a fresh temporary file and returns its path.
    static func temporary(_ bytes: [UInt8], name: String = "synthetic.dcm") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mammoflow-dicom-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
