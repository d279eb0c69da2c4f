/// Why a DICOM file could not be read or decoded: the file, the kind of problem and a reason a person can act on.
public struct DICOMError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The broad class of the problem; the decode stage records it with each reject.
    public enum Kind: String, Sendable {
        /// Not a DICOM file, or its structure is broken (bad lengths, missing required attributes).
        case malformed
        /// The file ends before a value or the pixel data does.
        case truncated
        /// Valid DICOM that mammoflow does not decode (transfer syntax, colour, bit depth...).
        case unsupported
        /// The compressed pixel stream is corrupt.
        case corruptPixels
        /// The file could not be opened or read.
        case unreadable
    }

    public let file: String
    public let kind: Kind
    public let reason: String

    public init(file: String, kind: Kind, reason: String) {
        self.file = file
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "\(file): \(kind.rawValue): \(reason)" }
}
