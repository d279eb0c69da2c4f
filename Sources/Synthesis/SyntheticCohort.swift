import DICOM
import Foundation
import Shards
import Stages

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
            if profile.transferSyntaxUID == DICOMFileWriter.jpeg2000Lossless {
                frame = try JPEG2000Encoder.encode(samples: image.pixels, width: image.columns, height: image.rows, precision: profile.bitsStored)
            } else {
                frame = try JPEGLosslessEncoder.encode(samples: image.pixels, width: image.columns, height: image.rows, precision: profile.bitsStored)
            }
        } catch {
            throw SynthesisError.encoding(key: record.key, reason: "\(error)")
        }
        let spacing = decimalString(image.pixelSpacing)
        var elements: [DICOMWriterElement] = [
            DICOMWriterElement(0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY"),
            DICOMWriterElement(0x0008, 0x0016, "UI", digitalMammographyForPresentation),
            DICOMWriterElement(0x0008, 0x0018, "UI", uid(seed, 1, UInt64(record.imageID))),
            DICOMWriterElement(0x0008, 0x0020, "DA", "20260101"),
            DICOMWriterElement(0x0008, 0x0060, "CS", "MG"),
            DICOMWriterElement(0x0008, 0x0068, "CS", "FOR PRESENTATION"),
            DICOMWriterElement(0x0008, 0x0070, "LO", profile.manufacturer),
            DICOMWriterElement(0x0008, 0x1090, "LO", "MACHINE \(record.machineID)"),
            DICOMWriterElement(0x0010, 0x0010, "PN", "SYNTHETIC^\(record.patientID)"),
            DICOMWriterElement(0x0010, 0x0020, "LO", "\(record.patientID)"),
            DICOMWriterElement(0x0010, 0x0040, "CS", "F"),
            DICOMWriterElement(0x0018, 0x1164, "DS", "\(spacing)\\\(spacing)"),
            DICOMWriterElement(0x0018, 0x5101, "CS", record.view),
            DICOMWriterElement(0x0020, 0x000D, "UI", uid(seed, 2, UInt64(record.patientID))),
            DICOMWriterElement(0x0020, 0x000E, "UI", uid(seed, 3, UInt64(record.imageID))),
            DICOMWriterElement(0x0020, 0x0010, "SH", "\(record.patientID)"),
            DICOMWriterElement(0x0020, 0x0011, "IS", "1"),
            DICOMWriterElement(0x0020, 0x0013, "IS", "1"),
            DICOMWriterElement(0x0020, 0x0062, "CS", record.laterality),
            .us(0x0028, 0x0002, 1),
            DICOMWriterElement(0x0028, 0x0004, "CS", profile.photometric),
            .us(0x0028, 0x0010, UInt16(image.rows)),
            .us(0x0028, 0x0011, UInt16(image.columns)),
            DICOMWriterElement(0x0028, 0x0030, "DS", "\(spacing)\\\(spacing)"),
            .us(0x0028, 0x0100, 16),
            .us(0x0028, 0x0101, UInt16(profile.bitsStored)),
            .us(0x0028, 0x0102, UInt16(profile.bitsStored - 1)),
            .us(0x0028, 0x0103, 0),
            DICOMWriterElement(0x0028, 0x0301, "CS", "YES"),
            DICOMWriterElement(0x0028, 0x1050, "DS", decimalString(image.windowCenter)),
            DICOMWriterElement(0x0028, 0x1051, "DS", decimalString(image.windowWidth)),
            DICOMWriterElement(0x0028, 0x1056, "CS", profile.voiFunction),
            DICOMWriterElement(0x0028, 0x2110, "CS", "00"),
        ]
        if let age = record.age { elements.append(DICOMWriterElement(0x0010, 0x1010, "AS", String(format: "%03dY", age))) }
        return try DICOMFileWriter(transferSyntaxUID: profile.transferSyntaxUID).file(dataset: elements, pixels: .encapsulated(frame: frame))
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
