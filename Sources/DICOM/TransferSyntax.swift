/// A transfer syntax: how a data set after the file meta group is encoded, and how its pixels are compressed.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    /// How the pixel data is compressed.
    public enum Codec: String, Sendable {
        case native, deflatedNative, rle, jpegLossless, jpeg2000
        /// Known but not decoded by mammoflow (JPEG baseline/extended, JPEG-LS, HTJ2K, MPEG...).
        case unsupported
    }

    public let uid: String
    public let name: String
    public let codec: Codec
    public let explicitVR: Bool
    public let bigEndian: Bool

    public init(uid: String, name: String, codec: Codec, explicitVR: Bool = true, bigEndian: Bool = false) {
        self.uid = uid
        self.name = name
        self.codec = codec
        self.explicitVR = explicitVR
        self.bigEndian = bigEndian
    }

    /// Pixel data is a sequence of fragments rather than one value.
    public var isEncapsulated: Bool { codec != .native && codec != .deflatedNative }
    /// The data set after the file meta group is a raw deflate stream.
    public var isDeflated: Bool { codec == .deflatedNative }

    /// "1.2.840.10008.1.2.4.90 (JPEG 2000 Image Compression (Lossless Only))"
    public var description: String { "\(uid) (\(name))" }

    public static let implicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2", name: "Implicit VR Little Endian", codec: .native, explicitVR: false)
    public static let explicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1", name: "Explicit VR Little Endian", codec: .native)
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1.99", name: "Deflated Explicit VR Little Endian", codec: .deflatedNative)
    public static let explicitVRBigEndian = TransferSyntax(uid: "1.2.840.10008.1.2.2", name: "Explicit VR Big Endian", codec: .native, bigEndian: true)
    public static let rleLossless = TransferSyntax(uid: "1.2.840.10008.1.2.5", name: "RLE Lossless", codec: .rle)
    public static let jpegLosslessProcess14 = TransferSyntax(uid: "1.2.840.10008.1.2.4.57", name: "JPEG Lossless, Non-Hierarchical (Process 14)", codec: .jpegLossless)
    public static let jpegLosslessSV1 = TransferSyntax(uid: "1.2.840.10008.1.2.4.70", name: "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", codec: .jpegLossless)
    public static let jpeg2000Lossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.90", name: "JPEG 2000 Image Compression (Lossless Only)", codec: .jpeg2000)
    public static let jpeg2000 = TransferSyntax(uid: "1.2.840.10008.1.2.4.91", name: "JPEG 2000 Image Compression", codec: .jpeg2000)

    /// Every transfer syntax mammoflow knows by name; the unsupported ones are listed so errors can name them.
    public static let known: [TransferSyntax] = [
        .implicitVRLittleEndian, .explicitVRLittleEndian, .deflatedExplicitVRLittleEndian, .explicitVRBigEndian,
        .rleLossless, .jpegLosslessProcess14, .jpegLosslessSV1, .jpeg2000Lossless, .jpeg2000,
        unsupported("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
        unsupported("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
        unsupported("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression"),
        unsupported("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression"),
        unsupported("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"),
        unsupported("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression"),
        unsupported("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"),
        unsupported("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"),
        unsupported("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"),
        unsupported("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
        unsupported("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"),
        unsupported("1.2.840.10008.1.2.4.110", "JPEG XL Lossless"),
        unsupported("1.2.840.10008.1.2.4.112", "JPEG XL"),
    ]

    private static func unsupported(_ uid: String, _ name: String) -> TransferSyntax {
        TransferSyntax(uid: uid, name: name, codec: .unsupported)
    }

    /// The transfer syntax for a UID; an unknown UID is kept (named "unknown") so errors can quote it.
    public static func forUID(_ uid: String) -> TransferSyntax {
        known.first { $0.uid == uid } ?? TransferSyntax(uid: uid, name: "unknown transfer syntax", codec: .unsupported)
    }
}
