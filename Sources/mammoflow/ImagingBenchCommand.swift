import ArgumentParser
import Foundation
import Imaging

/// `mammoflow imaging-bench OP IMAGE.png`: times one imaging step in-process for bench/bench_imaging.py
/// (best of --repeat runs, so process start and PNG reading are not measured) and prints one JSON line.
struct ImagingBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imaging-bench", abstract: "Time crop, pectoral or downscale on one gray PNG (for make bench).",
        shouldDisplay: false)

    @Argument(help: "crop | pectoral | downscale")
    var operation: String

    @Argument(help: "A gray PNG (8 or 16 bits).")
    var image: String

    @Option(help: "Runs; the fastest is reported.")
    var `repeat` = 20

    @Option(help: "Threads (downscale and pectoral use them).")
    var threads = 1

    @Option(help: "Significant bits of the PNG's samples (default: the file's depth).")
    var bits: Int?

    func run() throws {
        var input = try PNG.readGray(image)
        if let bits { input.bits = bits }
        var result: [String: Any] = [:]
        let step: () -> Void
        // Untimed, before each run: what the stage has before the step (for pectoral, a decoded image of its own).
        var prepare: () -> Void = {}
        switch operation {
        case "crop":
            step = {
                if let found = try? BreastCrop.find(in: input) {
                    result["box"] = [found.box.x, found.box.y, found.box.width, found.box.height]
                }
            }
        case "pectoral":
            // The stage fills the decoded pixels in place (mapImageRecords hands the image over), so the copy
            // that gives this run an image of its own is made before the clock starts.
            var own = input
            prepare = {
                own = input
                own.pixels.withUnsafeMutableBufferPointer { _ in }
            }
            step = {
                if case .removed(let line, let pixels) = PectoralRemoval.remove(from: &own, threads: threads) {
                    result["angle"] = line.angle
                    result["distance"] = line.distance
                    result["pixels"] = pixels
                }
            }
        case "downscale":
            step = {
                let out = Resample.areaAverage(input, factor: 4, threads: threads)
                result["size"] = [out.width, out.height]
            }
        default:
            throw ValidationError("unknown operation \(operation): crop, pectoral or downscale")
        }
        var best = Double.infinity
        for _ in 0..<max(1, self.repeat) {
            prepare()
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        result["ms"] = best
        result["op"] = operation
        print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }
}
