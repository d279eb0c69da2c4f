/// A DICOM attribute tag: (group, element), e.g. (0028,0010) Rows.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// The tag as one number, group in the high half: the order tags appear in a data set.
    public var code: UInt32 { UInt32(group) << 16 | UInt32(element) }

    public static func < (a: Tag, b: Tag) -> Bool { a.code < b.code }

    /// "(0028,0010)"
    public var description: String {
        func hex(_ v: UInt16) -> String {
            let s = String(v, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - s.count) + s
        }
        return "(\(hex(group)),\(hex(element)))"
    }
}

/// The tags mammoflow reads.
extension Tag {
    public static let transferSyntaxUID = Tag(0x0002, 0x0010)
    public static let sopClassUID = Tag(0x0008, 0x0016)
    public static let sopInstanceUID = Tag(0x0008, 0x0018)
    public static let modality = Tag(0x0008, 0x0060)
    public static let manufacturer = Tag(0x0008, 0x0070)
    public static let manufacturerModelName = Tag(0x0008, 0x1090)
    public static let patientID = Tag(0x0010, 0x0020)
    public static let samplesPerPixel = Tag(0x0028, 0x0002)
    public static let photometricInterpretation = Tag(0x0028, 0x0004)
    public static let planarConfiguration = Tag(0x0028, 0x0006)
    public static let numberOfFrames = Tag(0x0028, 0x0008)
    public static let rows = Tag(0x0028, 0x0010)
    public static let columns = Tag(0x0028, 0x0011)
    public static let pixelSpacing = Tag(0x0028, 0x0030)
    public static let imagerPixelSpacing = Tag(0x0018, 0x1164)
    public static let bitsAllocated = Tag(0x0028, 0x0100)
    public static let bitsStored = Tag(0x0028, 0x0101)
    public static let highBit = Tag(0x0028, 0x0102)
    public static let pixelRepresentation = Tag(0x0028, 0x0103)
    public static let windowCenter = Tag(0x0028, 0x1050)
    public static let windowWidth = Tag(0x0028, 0x1051)
    public static let rescaleIntercept = Tag(0x0028, 0x1052)
    public static let rescaleSlope = Tag(0x0028, 0x1053)
    public static let voiLUTFunction = Tag(0x0028, 0x1056)
    public static let modalityLUTSequence = Tag(0x0028, 0x3000)
    public static let lutDescriptor = Tag(0x0028, 0x3002)
    public static let lutData = Tag(0x0028, 0x3006)
    public static let voiLUTSequence = Tag(0x0028, 0x3010)
    public static let extendedOffsetTable = Tag(0x7FE0, 0x0001)
    public static let extendedOffsetTableLengths = Tag(0x7FE0, 0x0002)
    public static let pixelData = Tag(0x7FE0, 0x0010)
    public static let item = Tag(0xFFFE, 0xE000)
    public static let itemDelimitation = Tag(0xFFFE, 0xE00D)
    public static let sequenceDelimitation = Tag(0xFFFE, 0xE0DD)
}
