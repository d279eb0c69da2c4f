import ArgumentParser
import Foundation
import Shards
import Validation

/// `mammoflow folds`: the folds stage's work on a CSV file, outside a pipeline.
struct FoldsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folds",
        abstract: "Patient-grouped k folds of a train.csv, stratified on cancer (scikit-learn's StratifiedGroupKFold).",
        discussion: "Without --seed the assignment is scikit-learn's shuffle=False one, exactly; with a seed the patients are shuffled first.")

    @Option(help: "The cohort table (RSNA train.csv layout: patient_id, image_id, cancer).")
    var table: String
    @Option(help: "Number of folds.")
    var k = 4
    @Option(help: "Shuffle the patients with this seed before assigning them.")
    var seed: Int64?
    @Option(help: "stratified-group or group.")
    var method = FoldMethod.stratifiedGroup
    @Option(name: [.short, .customLong("output")], help: "Where to write folds.csv (image, patient_id, image_id, fold).")
    var output: String

    func run() throws {
        let started = Date()
        let folds = try FoldTable(table: CSVTable(contentsOf: table), method: method, k: k, seed: seed.map { UInt64(bitPattern: $0) })
        try writeFileAtomically(output, Array(folds.csv.utf8))
        print(folds.report)
        print(String(format: "wrote %@ in %.3f s", output, Date().timeIntervalSince(started)))
    }
}

extension FoldMethod: ExpressibleByArgument {}
