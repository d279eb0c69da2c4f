#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DICOM
import Foundation
import Shards
import Stages

extension DICOMCommand {
    /// Decode timing for the bench: each file decoded `--repeat` times (best kept), files spread over workers.
    struct Time: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "time",
            abstract: "Time decoding (as the decode stage does: decode + render) and print JSON: images/s, best ms, peak memory.")

        @Argument(help: "DICOM files.") var files: [String]
        @OptionGroup var decode: DecodeOptions
        @Option(help: "Decodes of each file; the best time is reported per image.") var `repeat` = 1
        @Option(help: "Parallel workers over the files (each decodes with --threads).") var workers = 1
        @Option(help: "stored | window16 | window8 | minmax8 (as the decode stage's values).") var values = "window16"

        func run() throws {
            guard let mode = OutputValues(rawValue: values) else { throw ValidationError("--values: one of \(OutputValues.allCases.map(\.rawValue))") }
            let started = Date()
            var best: [Double] = []
            var failures: [String] = []
            orderedParallelMap(count: files.count, threads: workers, work: { i -> Result<Double, Error> in
                Result {
                    var fastest = Double.infinity
                    for _ in 0 ..< max(1, self.repeat) {
                        let t0 = Date()
                        let dicom = try DICOMFile(path: files[i])
                        // As the decode stage does: rendered from the codec's buffer where it has one.
                        let semantics = PixelSemantics(header: try dicom.header(), voiIndex: decode.voi)
                        _ = try dicom.withDecodedFrame(reduce: decode.reduce, by: decode.reduceBy, threads: decode.threads) { try semantics.render($0, as: mode) }
                        fastest = min(fastest, Date().timeIntervalSince(t0))
                    }
                    return fastest
                }
            }, consume: { i, result in
                switch result {
                case .success(let s): best.append(s)
                case .failure(let e): failures.append("\(files[i]): \(e)")
                }
            })
            let seconds = Date().timeIntervalSince(started)
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            let report: JSONValue = [
                "images": .int(Int64(best.count)), "failed": .array(failures.map { .string($0) }),
                "seconds": .double(seconds), "images_per_second": .double(Double(best.count * max(1, self.repeat)) / seconds),
                "best_ms": .double((best.min() ?? 0) * 1000), "median_ms": .double(best.isEmpty ? 0 : best.sorted()[best.count / 2] * 1000),
                "peak_rss_mb": .double(Double(usage.ru_maxrss) / 1024),
            ]
            print(report.canonicalText)
        }
    }
}
