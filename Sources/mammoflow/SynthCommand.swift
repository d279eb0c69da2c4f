import ArgumentParser
import Foundation
import Imaging
import Synthesis

/// `mammoflow synth`: writes a synthetic cohort in RSNA's layout to a directory, for people (the pipeline uses
/// the `mammoflow-synth` stage, which runs the same generator).
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate a synthetic screening cohort: train.csv, train_images/<patient>/<image>.dcm, truth.jsonl.")

    @Option(help: "Output directory (created if missing).") var out: String
    @Option(help: "Number of patients.") var patients = 200
    @Option(help: "Random seed: the same seed gives byte-identical files.") var seed: UInt64 = 7
    @Option(help: "Image size relative to the vendors' full size (0.25 for the demo).") var scale = 1.0
    @Option(help: "Share of breasts with cancer (RSNA: 0.0206).") var prevalence = CohortParameters.rsnaPrevalence
    @Option(help: "Lesion difficulty, 0 (large, high contrast) to 1 (small, faint, many look-alikes).") var difficulty = 0.5
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Also write test.csv (RSNA's test layout with prediction_id).") var testCSV = false
    @Option(help: "Also write a contact sheet PNG of a dozen varied images (views, sides, encodings, a cancer, an implant).") var sheet: String?

    func run() throws {
        let parameters = CohortParameters(patients: patients, seed: seed, scale: scale, prevalence: prevalence, difficulty: difficulty)
        let start = Date()
        var lastShown = Date.distantPast
        // One line redrawn in place on a terminal; a line every 5 s into logs and pipes.
        let terminal = isatty(STDERR_FILENO) != 0
        let summary = try SyntheticCohort.generate(parameters, into: out, threads: max(1, threads), testCSV: testCSV) { done, total in
            let now = Date()
            guard done == total || now.timeIntervalSince(lastShown) > (terminal ? 0.25 : 5) else { return }
            lastShown = now
            let elapsed = now.timeIntervalSince(start)
            let eta = Double(total - done) * elapsed / Double(done)
            let line = String(format: "synth %d/%d images  %.1f img/s  elapsed %.0fs  ETA %.0fs ", done, total, Double(done) / max(elapsed, 1e-9), elapsed, eta)
            FileHandle.standardError.write(Data((terminal ? "\r" + line : line + "\n").utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        if let sheet {
            let records = CohortTable.sample(parameters)
            let image = CohortSheet.render(CohortSheet.pick(records), parameters: parameters,
                                           title: "mammoflow synth: seed \(seed), \(patients) patients, scale \(scale)")
            try PNG.write(image, to: sheet)
            print("contact sheet: \(sheet)")
        }
        print("wrote \(summary.images) images of \(summary.patients) patients (\(summary.cancerBreasts) breasts with cancer, \(summary.bytes / 1_000_000) MB) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}
