import Foundation
import Shards
import Validation

/// The committed fixtures of Tests/Fixtures/validation (made by make_golden.py there).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/validation").path

    static let golden: JSONValue = {
        try! JSONValue.parse(readFile("\(directory)/golden.json"))
    }()

    /// RSNA's real train.csv (54,706 images of 11,913 patients), decompressed.
    static let trainTable: CSVTable = {
        let size = Int(golden["train_csv_bytes"]!.intValue!)
        let bytes = try! ZstdDecompressor().decompress(readFile("\(directory)/train.csv.zst"), expectedSize: size)
        return try! CSVTable(parsing: bytes, file: "train.csv")
    }()
}
