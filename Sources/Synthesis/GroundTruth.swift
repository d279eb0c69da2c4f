/// What is really in one generated image, in the pixel coordinates of the stored DICOM image (x = column,
/// y = row, pixel centres at integers, boxes inclusive). One JSON line per image in `truth.jsonl`;
/// docs/synthetic-cohort.md documents every field.
public struct ImageTruth: Codable, Sendable, Equatable {
    public var key: String
    public var patientID: Int
    public var imageID: Int
    public var laterality: String
    public var view: String
    public var rows: Int
    public var columns: Int
    public var pixelSpacingMM: Double
    /// "left" or "right": the image edge the chest wall lies on.
    public var chestWall: String
    public var photometric: String
    public var bitsStored: Int
    public var transferSyntaxUID: String
    /// The density the anatomy was rendered with (RSNA's table leaves it empty at site 2; the image still has one).
    public var renderedDensity: String
    /// Breast mask (including the pectoral muscle in MLO views, excluding air): inclusive box [x0, y0, x1, y1] and pixel count.
    public var breastBox: [Int]
    public var breastArea: Int
    public var nipple: [Double]
    /// MLO-like views: the pectoral edge's end points [x, y] on the top edge and on the chest-wall edge; the
    /// muscle is the region between this edge and the image corner. The edge bulges by up to `pectoralBulge` px.
    public var pectoralTop: [Double]?
    public var pectoralChestWall: [Double]?
    public var pectoralBulge: Double?
    /// Implant: inclusive box, when the breast has one.
    public var implantBox: [Int]?
    public var lesions: [LesionTruth]
    public var markers: [MarkerTruth]

    enum CodingKeys: String, CodingKey {
        case key, laterality, view, rows, columns, photometric, nipple, lesions, markers
        case patientID = "patient_id", imageID = "image_id", pixelSpacingMM = "pixel_spacing_mm", chestWall = "chest_wall"
        case bitsStored = "bits_stored", transferSyntaxUID = "transfer_syntax", renderedDensity = "rendered_density"
        case breastBox = "breast_box", breastArea = "breast_area", pectoralTop = "pectoral_top"
        case pectoralChestWall = "pectoral_chest_wall", pectoralBulge = "pectoral_bulge", implantBox = "implant_box"
    }
}

public struct LesionTruth: Codable, Sendable, Equatable {
    /// spiculated_mass, calcification_cluster (malignant); round_mass, coarse_calcifications (benign).
    public var kind: String
    public var malignant: Bool
    public var center: [Double]
    /// Core radius of a mass, or the radius calcifications are spread over, in pixels.
    public var radius: Double
}

public struct MarkerTruth: Codable, Sendable, Equatable {
    /// "laterality" (e.g. "L MLO") or "label".
    public var kind: String
    public var text: String
    public var box: [Int]
}
