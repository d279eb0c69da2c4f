import DICOM

/// How one machine id writes its images: a consistent "vendor" (geometry, bit depth, photometric
/// interpretation, VOI function, transfer syntax), so that per-machine quirks exist for the pipeline to handle.
public struct VendorProfile: Sendable, Equatable {
    public var machineID: Int
    public var manufacturer: String
    /// Full-size geometry (scale 1), rows x columns, and detector pixel spacing in mm.
    public var rows: Int
    public var columns: Int
    public var pixelSpacing: Double
    public var bitsStored: Int
    public var photometric: String
    public var voiFunction: String
    public var transferSyntax: TransferSyntax

    public var isMonochrome1: Bool { photometric == "MONOCHROME1" }

    /// Geometry and spacing at `scale` (the physical field of view stays the same).
    public func scaled(_ scale: Double) -> (rows: Int, columns: Int, pixelSpacing: Double) {
        (max(64, Int((Double(rows) * scale).rounded())), max(48, Int((Double(columns) * scale).rounded())), pixelSpacing / scale)
    }

    static let j2k = TransferSyntax.jpeg2000Lossless
    static let sv1 = TransferSyntax.jpegLosslessSV1

    /// RSNA's ten machine ids with sizes among RSNA's (2294x1914 up to 4096x3328 and 5355x4915) and a spread
    /// of encodings so both sites have both transfer syntaxes, both photometric interpretations and both VOI functions.
    public static let known: [Int: VendorProfile] = Dictionary(uniqueKeysWithValues: [
        VendorProfile(machineID: 49, manufacturer: "SYNTH VENDOR A", rows: 4096, columns: 3328, pixelSpacing: 0.07, bitsStored: 12, photometric: "MONOCHROME2", voiFunction: "LINEAR", transferSyntax: sv1),
        VendorProfile(machineID: 48, manufacturer: "SYNTH VENDOR B", rows: 3328, columns: 2560, pixelSpacing: 0.085, bitsStored: 12, photometric: "MONOCHROME1", voiFunction: "SIGMOID", transferSyntax: j2k),
        VendorProfile(machineID: 29, manufacturer: "SYNTH VENDOR C", rows: 2294, columns: 1914, pixelSpacing: 0.1, bitsStored: 14, photometric: "MONOCHROME1", voiFunction: "LINEAR", transferSyntax: j2k),
        VendorProfile(machineID: 21, manufacturer: "SYNTH VENDOR D", rows: 2776, columns: 2082, pixelSpacing: 0.094, bitsStored: 16, photometric: "MONOCHROME2", voiFunction: "SIGMOID", transferSyntax: sv1),
        VendorProfile(machineID: 93, manufacturer: "SYNTH VENDOR A", rows: 4096, columns: 3328, pixelSpacing: 0.07, bitsStored: 12, photometric: "MONOCHROME2", voiFunction: "LINEAR", transferSyntax: j2k),
        VendorProfile(machineID: 216, manufacturer: "SYNTH VENDOR E", rows: 3328, columns: 2560, pixelSpacing: 0.085, bitsStored: 14, photometric: "MONOCHROME2", voiFunction: "SIGMOID", transferSyntax: sv1),
        VendorProfile(machineID: 210, manufacturer: "SYNTH VENDOR B", rows: 2776, columns: 2082, pixelSpacing: 0.094, bitsStored: 12, photometric: "MONOCHROME1", voiFunction: "LINEAR", transferSyntax: sv1),
        VendorProfile(machineID: 170, manufacturer: "SYNTH VENDOR F", rows: 5355, columns: 4915, pixelSpacing: 0.05, bitsStored: 16, photometric: "MONOCHROME2", voiFunction: "LINEAR", transferSyntax: j2k),
        VendorProfile(machineID: 190, manufacturer: "SYNTH VENDOR C", rows: 2294, columns: 1914, pixelSpacing: 0.1, bitsStored: 13, photometric: "MONOCHROME2", voiFunction: "SIGMOID", transferSyntax: j2k),
        VendorProfile(machineID: 197, manufacturer: "SYNTH VENDOR D", rows: 3328, columns: 2560, pixelSpacing: 0.085, bitsStored: 15, photometric: "MONOCHROME1", voiFunction: "LINEAR", transferSyntax: sv1),
    ].map { ($0.machineID, $0) })

    /// The profile of a machine id; unknown ids get a stable profile derived from the id itself.
    public static func forMachine(_ id: Int) -> VendorProfile {
        if let p = known[id] { return p }
        let sorted = known.keys.sorted()
        var p = known[sorted[abs(id) % sorted.count]]!
        p.machineID = id
        return p
    }
}
