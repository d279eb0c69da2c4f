/// One data element to write: a tag, a two-letter VR and its already-encoded value bytes.
/// The writer pads values to even length with the VR's padding byte (space for text, NUL for UI and binary).
public struct DICOMWriterElement {
    public let tag: Tag
    public let vr: String
    public let value: [UInt8]

    public init(_ tag: Tag, _ vr: String, bytes: [UInt8]) {
        precondition(vr.utf8.count == 2, "a VR has two letters")
        self.tag = tag
        self.vr = vr
        self.value = bytes
    }

    /// A text element (CS, LO, SH, PN, DA, TM, DS, IS, AS, UI, ...); multiple values are joined with `\\`.
    public init(_ tag: Tag, _ vr: String, _ text: String) {
        self.init(tag, vr, bytes: Array(text.utf8))
    }

    public static func us(_ tag: Tag, _ value: UInt16) -> DICOMWriterElement {
        DICOMWriterElement(tag, "US", bytes: [UInt8(value & 0xFF), UInt8(value >> 8)])
    }

    public static func ul(_ tag: Tag, _ value: UInt32) -> DICOMWriterElement {
        DICOMWriterElement(tag, "UL", bytes: writerLittleEndian(value))
    }
}

/// Pixel data as it goes into the file: native (little-endian 16-bit words) or one frame of compressed
/// codestream, which is encapsulated (PS3.5 A.4) with a Basic Offset Table.
public enum DICOMPixelPayload {
    case native16([UInt16])
    case encapsulated(frame: [UInt8])
}

/// Errors of the Part 10 writer; they name the element at fault.
public enum DICOMWriterError: Error, CustomStringConvertible {
    case valueTooLong(tag: String, bytes: Int)
    case metaElementInDataset(tag: String)

    public var description: String {
        switch self {
        case .valueTooLong(let tag, let bytes): return "element \(tag): value of \(bytes) bytes does not fit its VR's 16-bit length"
        case .metaElementInDataset(let tag): return "element \(tag): group 0002 belongs to the File Meta Information, not the data set"
        }
    }
}

/// Writes DICOM Part 10 files (PS3.10): 128-byte preamble, `DICM`, File Meta Information (group 0002,
/// explicit VR little endian), then the data set in explicit VR little endian, elements in ascending tag
/// order, pixel data last. Pure: it returns the bytes; the caller decides where they go.
public struct DICOMFileWriter {
    /// Our implementation class UID (a 2.25 UUID-derived root) and version name, written into the meta header.
    public static let implementationClassUID = "2.25.183741102359473860215806325146918736153"
    public static let implementationVersionName = "MAMMOFLOW_1"

    public let transferSyntax: TransferSyntax
    public init(transferSyntax: TransferSyntax) { self.transferSyntax = transferSyntax }

    /// VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2).
    static let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

    /// The complete file. `dataset` must not contain group 0002 nor pixel data; the SOP class and instance
    /// UIDs for the meta header are taken from (0008,0016) and (0008,0018).
    public func file(dataset: [DICOMWriterElement], pixels: DICOMPixelPayload) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 128)
        out += Array("DICM".utf8)
        let sopClass = dataset.first { $0.tag == .sopClassUID }?.value ?? []
        let sopInstance = dataset.first { $0.tag == .sopInstanceUID }?.value ?? []
        var meta: [UInt8] = []
        try Self.append(DICOMWriterElement(Tag(0x0002, 0x0001), "OB", bytes: [0, 1]), to: &meta)
        try Self.append(DICOMWriterElement(Tag(0x0002, 0x0002), "UI", bytes: sopClass), to: &meta)
        try Self.append(DICOMWriterElement(Tag(0x0002, 0x0003), "UI", bytes: sopInstance), to: &meta)
        try Self.append(DICOMWriterElement(.transferSyntaxUID, "UI", transferSyntax.uid), to: &meta)
        try Self.append(DICOMWriterElement(Tag(0x0002, 0x0012), "UI", Self.implementationClassUID), to: &meta)
        try Self.append(DICOMWriterElement(Tag(0x0002, 0x0013), "SH", Self.implementationVersionName), to: &meta)
        try Self.append(.ul(Tag(0x0002, 0x0000), UInt32(meta.count)), to: &out)
        out += meta

        for element in dataset.sorted(by: { $0.tag < $1.tag }) {
            if element.tag.group == 0x0002 { throw DICOMWriterError.metaElementInDataset(tag: "\(element.tag)") }
            try Self.append(element, to: &out)
        }
        switch pixels {
        case .native16(let words):
            var bytes = [UInt8](repeating: 0, count: words.count * 2)
            for (i, w) in words.enumerated() { bytes[2 * i] = UInt8(w & 0xFF); bytes[2 * i + 1] = UInt8(w >> 8) }
            try Self.append(DICOMWriterElement(.pixelData, "OW", bytes: bytes), to: &out)
        case .encapsulated(let frame):
            Self.appendEncapsulated(frame: frame, to: &out)
        }
        return out
    }

    /// Pixel Data of undefined length: a Basic Offset Table item holding the one frame's offset (0), the
    /// frame in a single fragment padded to even length, and the sequence delimiter.
    static func appendEncapsulated(frame: [UInt8], to out: inout [UInt8]) {
        out += writerLittleEndian(UInt16(0x7FE0)) + writerLittleEndian(UInt16(0x0010)) + Array("OB".utf8) + [0, 0]
        out += writerLittleEndian(UInt32(0xFFFF_FFFF))
        appendItem(writerLittleEndian(UInt32(0)), to: &out)
        appendItem(frame.count % 2 == 0 ? frame : frame + [0], to: &out)
        out += writerLittleEndian(UInt16(0xFFFE)) + writerLittleEndian(UInt16(0xE0DD)) + writerLittleEndian(UInt32(0))
    }

    static func appendItem(_ bytes: [UInt8], to out: inout [UInt8]) {
        out += writerLittleEndian(UInt16(0xFFFE)) + writerLittleEndian(UInt16(0xE000)) + writerLittleEndian(UInt32(bytes.count))
        out += bytes
    }

    static func append(_ element: DICOMWriterElement, to out: inout [UInt8]) throws {
        var value = element.value
        if value.count % 2 == 1 { value.append(paddingByte(vr: element.vr)) }
        out += writerLittleEndian(element.tag.group) + writerLittleEndian(element.tag.element) + Array(element.vr.utf8)
        if longVRs.contains(element.vr) {
            out += [0, 0] + writerLittleEndian(UInt32(value.count))
        } else {
            guard value.count <= 0xFFFF else { throw DICOMWriterError.valueTooLong(tag: "\(element.tag)", bytes: value.count) }
            out += writerLittleEndian(UInt16(value.count))
        }
        out += value
    }

    /// Text VRs pad with a space; UI and binary VRs with NUL (PS3.5 6.2).
    static func paddingByte(vr: String) -> UInt8 {
        ["UI", "OB", "OW", "UN", "OD", "OF", "OL", "OV"].contains(vr) ? 0 : 0x20
    }
}

@inline(__always)
func writerLittleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}
