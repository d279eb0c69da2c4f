import DICOM
import Foundation
import Shards

/// Errors of cohort generation; they name the file or the record.
public enum SynthesisError: Error, CustomStringConvertible {
    case encoding(key: String, reason: String)
    case badParameter(String)

    public var description: String {
        switch self {
        case .encoding(let key, let reason): return "image \(key): \(reason)"
        case .badParameter(let reason): return "synthetic cohort: \(reason)"
        }
    }
}

/// The synthetic cohort end to end: the table, then every image rendered, encoded as its vendor does and
/// written as `train_images/<patient_id>/<image_id>.dcm`, with `truth.jsonl` beside `train.csv`.
public enum SyntheticCohort {
    public static let digitalMammographyForPresentation = "1.2.840.10008.5.1.4.1.1.1.2"

    public static func validate(_ p: CohortParameters) throws {
        guard p.patients >= 1 else { throw SynthesisError.badParameter("patients must be at least 1, got \(p.patients)") }
        guard p.scale > 0.02 && p.scale <= 2 else { throw SynthesisError.badParameter("scale must be in (0.02, 2], got \(p.scale)") }
        guard (0...1).contains(p.prevalence) else { throw SynthesisError.badParameter("prevalence must be in [0, 1], got \(p.prevalence)") }
        guard (0...1).contains(p.difficulty) else { throw SynthesisError.badParameter("difficulty must be in [0, 1], got \(p.difficulty)") }
    }

    /// What one generation wrote, for the stage summary and the CLI.
    public struct Summary: Sendable {
        public var images = 0
        public var patients = 0
        public var cancerBreasts = 0
        public var bytes = 0
        public var byTransferSyntax: [String: Int] = [:]
    }

    /// Generates the cohort into `directory` with `threads` workers. `progress(done, total)` is called on the
    /// calling thread after each image. Files are written atomically (temporary name, then rename).
    @discardableResult
    public static func generate(_ parameters: CohortParameters, into directory: String, threads: Int, testCSV: Bool = false,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> Summary {
        try validate(parameters)
        let records = CohortTable.sample(parameters)
        try FileManager.default.createDirectory(atPath: "\(directory)/train_images", withIntermediateDirectories: true)
        var summary = Summary()
        summary.patients = Set(records.map(\.patientID)).count
        summary.cancerBreasts = Set(records.filter(\.cancer).map { "\($0.patientID)\($0.laterality)" }).count
        var truthLines: [String] = []
        var madeDirectories = Set<Int>()
        try orderedParallelMap(count: records.count, threads: threads, window: 2 * threads) { i -> Result<([UInt8], ImageTruth), Error> in
            Result { try image(records[i], parameters: parameters) }
        } consume: { i, result in
            let (bytes, truth) = try result.get()
            let record = records[i]
            if madeDirectories.insert(record.patientID).inserted {
                try FileManager.default.createDirectory(atPath: "\(directory)/train_images/\(record.patientID)", withIntermediateDirectories: true)
            }
            try writeFileAtomically("\(directory)/\(record.relativePath)", bytes)
            truthLines.append(try JSONValue(encoding: truth).canonicalText)
            summary.images += 1
            summary.bytes += bytes.count
            summary.byTransferSyntax[truth.transferSyntaxUID, default: 0] += 1
            progress(i + 1, records.count)
        }
        try writeFileAtomically("\(directory)/truth.jsonl", Array((truthLines.joined(separator: "\n") + "\n").utf8))
        try writeFileAtomically("\(directory)/train.csv", Array(CohortTable.trainCSV(records).utf8))
        if testCSV { try writeFileAtomically("\(directory)/test.csv", Array(CohortTable.testCSV(records).utf8)) }
        return summary
    }

    /// One image: rendered, encoded with its vendor's transfer syntax, wrapped as a Part 10 file.
    public static func image(_ record: ImageRecord, parameters: CohortParameters) throws -> ([UInt8], ImageTruth) {
        let rendered = MammogramRenderer.render(record, parameters: parameters)
        return (try dicomFile(record, rendered, seed: parameters.seed), rendered.truth)
    }

    public static func dicomFile(_ record: ImageRecord, _ image: RenderedImage, seed: UInt64) throws -> [UInt8] {
        let profile = image.profile
        let frame: [UInt8]
        do {
            if profile.transferSyntax == .jpeg2000Lossless {
                frame = try JPEG2000Encoder.encode(samples: image.pixels, width: image.columns, height: image.rows, precision: profile.bitsStored)
            } else {
                frame = try JPEGLosslessEncoder.encode(samples: image.pixels, width: image.columns, height: image.rows, precision: profile.bitsStored)
            }
        } catch {
            throw SynthesisError.encoding(key: record.key, reason: "\(error)")
        }
        let spacing = decimalString(image.pixelSpacing)
        var elements: [DICOMWriterElement] = [
            DICOMWriterElement(Tag(0x0008, 0x0008), "CS", "ORIGINAL\\PRIMARY"), // ImageType
            DICOMWriterElement(.sopClassUID, "UI", digitalMammographyForPresentation),
            DICOMWriterElement(.sopInstanceUID, "UI", uid(seed, 1, UInt64(record.imageID))),
            DICOMWriterElement(Tag(0x0008, 0x0020), "DA", "20260101"), // StudyDate
            DICOMWriterElement(.modality, "CS", "MG"),
            DICOMWriterElement(Tag(0x0008, 0x0068), "CS", "FOR PRESENTATION"), // PresentationIntentType
            DICOMWriterElement(.manufacturer, "LO", profile.manufacturer),
            DICOMWriterElement(.manufacturerModelName, "LO", "MACHINE \(record.machineID)"),
            DICOMWriterElement(Tag(0x0010, 0x0010), "PN", "SYNTHETIC^\(record.patientID)"), // PatientName
            DICOMWriterElement(.patientID, "LO", "\(record.patientID)"),
            DICOMWriterElement(Tag(0x0010, 0x0040), "CS", "F"), // PatientSex
            DICOMWriterElement(.imagerPixelSpacing, "DS", "\(spacing)\\\(spacing)"),
            DICOMWriterElement(Tag(0x0018, 0x5101), "CS", record.view), // ViewPosition
            DICOMWriterElement(Tag(0x0020, 0x000D), "UI", uid(seed, 2, UInt64(record.patientID))), // StudyInstanceUID
            DICOMWriterElement(Tag(0x0020, 0x000E), "UI", uid(seed, 3, UInt64(record.imageID))), // SeriesInstanceUID
            DICOMWriterElement(Tag(0x0020, 0x0010), "SH", "\(record.patientID)"), // StudyID
            DICOMWriterElement(Tag(0x0020, 0x0011), "IS", "1"), // SeriesNumber
            DICOMWriterElement(Tag(0x0020, 0x0013), "IS", "1"), // InstanceNumber
            DICOMWriterElement(Tag(0x0020, 0x0062), "CS", record.laterality), // ImageLaterality
            .us(.samplesPerPixel, 1),
            DICOMWriterElement(.photometricInterpretation, "CS", profile.photometric),
            .us(.rows, UInt16(image.rows)),
            .us(.columns, UInt16(image.columns)),
            DICOMWriterElement(.pixelSpacing, "DS", "\(spacing)\\\(spacing)"),
            .us(.bitsAllocated, 16),
            .us(.bitsStored, UInt16(profile.bitsStored)),
            .us(.highBit, UInt16(profile.bitsStored - 1)),
            .us(.pixelRepresentation, 0),
            DICOMWriterElement(Tag(0x0028, 0x0301), "CS", "YES"), // BurnedInAnnotation
            DICOMWriterElement(.windowCenter, "DS", decimalString(image.windowCenter)),
            DICOMWriterElement(.windowWidth, "DS", decimalString(image.windowWidth)),
            DICOMWriterElement(.voiLUTFunction, "CS", profile.voiFunction),
            DICOMWriterElement(Tag(0x0028, 0x2110), "CS", "00"), // LossyImageCompression
        ]
        if let age = record.age { elements.append(DICOMWriterElement(Tag(0x0010, 0x1010), "AS", String(format: "%03dY", age))) } // PatientAge
        return try DICOMFileWriter(transferSyntax: profile.transferSyntax).file(dataset: elements, pixels: .encapsulated(frame: frame))
    }

    /// A deterministic UID under the 2.25 (UUID-derived) root: 2.25.<decimal of ~128 bits of hash>.
    static func uid(_ seed: UInt64, _ purpose: UInt64, _ id: UInt64) -> String {
        var rng = SynthRandom(seed: seed, 0x0D1C0, purpose, id)
        let high = rng.next() >> 1 | 1, low = rng.next() % 10_000_000_000_000_000_000
        return "2.25.\(high)" + String(repeating: "0", count: 19 - String(low).count) + String(low)
    }

    /// A DS value (at most 16 characters).
    static func decimalString(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.6g", value)
    }
}
