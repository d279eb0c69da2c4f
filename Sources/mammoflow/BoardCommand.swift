import ArgumentParser
import Foundation
import Pipeline
import Shards

/// `mammoflow board`: the scoreboard of a pipeline's fresh score stages, with intervals, and where to look.
struct BoardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "board",
        abstract: "The scoreboard of a pipeline: per-breast pF1 and AUC with intervals, honest and optimistic F1, and the pictures to look at.",
        discussion: """
            Reads the metrics.json of every fresh stage of FILE that wrote one (the score stages) and copies \
            the pictures of the run (ROC, precision-recall, calibration; each trained fold's curves) into \
            --report DIR/<pipeline name>/, so they can be opened without digging in the cache.
            """)

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var cacheOptions: CacheOptions

    @Option(help: ArgumentHelp("Where to copy the run's pictures.", valueName: "DIR"))
    var report = "report"

    func run() throws {
        let engine = try userFacing { try pipeline.engine(cacheOptions) }
        let states = engine.states()
        let fresh = states.compactMap { entry -> (stage: String, artifact: ArtifactManifest)? in
            guard case .fresh(let artifact, _) = entry.state else { return nil }
            return (entry.stage.name, engine.located(artifact))
        }
        let scored = fresh.filter { $0.artifact.file("metrics.json") != nil }
        guard !scored.isEmpty else {
            let stale = states.filter { !$0.state.isFresh }.map(\.stage.name)
            throw ValidationError("no fresh score in \(pipeline.file)\(stale.isEmpty ? "" : "; stale: \(stale.joined(separator: ", ")) (run: mammoflow run \(pipeline.file))")")
        }
        let folder = "\(report)/\(URL(fileURLWithPath: pipeline.file).deletingPathExtension().lastPathComponent)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var pictures: [String] = []
        for (_, artifact) in fresh {
            for file in artifact.files where file.path.hasSuffix(".png") {
                let name = file.path.replacingOccurrences(of: "/", with: "-").replacingOccurrences(of: "=", with: "")
                let target = "\(folder)/\(artifact.stage)-\(name)"
                try writeFileAtomically(target, readFile(file.location!))
                pictures.append(target)
            }
        }
        for (stage, artifact) in scored {
            let metrics = try JSONValue.parse(readFile(artifact.file("metrics.json")!.location!))
            print(Scoreboard(stage: stage, pipeline: pipeline.file, metrics: metrics).text)
        }
        print("\nPictures (copied from the cache): \(folder)/")
        for picture in pictures { print("  \(picture)") }
        print("Thumbnails of the preprocessed images: mammoflow sheet pectoral --overlay -o sheet.png")
        print("Compare variants: mammoflow metrics")
    }
}

/// The text of one score stage's board: the competition's metric per breast first, then AUC, then the
/// binarised F1 two ways, each with its bootstrap interval.
struct Scoreboard {
    let stage: String
    let pipeline: String
    let metrics: JSONValue

    func number(_ value: JSONValue?) -> String { value?.doubleValue.map { String(format: "%.3f", $0) } ?? "-" }
    func interval(_ value: JSONValue?) -> String {
        guard let low = value?["low"]?.doubleValue, let high = value?["high"]?.doubleValue else { return "" }
        return String(format: "[%.3f, %.3f]", low, high)
    }

    var text: String {
        let levels = metrics["levels"]
        var rows: [(String, String, String)] = []
        func add(_ name: String, _ level: String, _ field: String) {
            rows.append((name, number(levels?[level]?[field]), interval(levels?[level]?["\(field)_interval"])))
        }
        add("pF1 per breast, mean of its images", "breast_mean", "probabilistic_f1")
        add("pF1 per breast, max of its images", "breast_max", "probabilistic_f1")
        add("AUC per breast (max)", "breast_max", "roc_auc")
        add("AUC per image", "image", "roc_auc")
        let honest = levels?["image"]?["honest"], optimistic = levels?["image"]?["optimistic"]
        rows.append(("F1 honest (each fold's threshold from the other folds)", number(honest?["f1"]), interval(honest?["f1_interval"])))
        rows.append(("  sensitivity / specificity", "\(number(honest?["sensitivity"])) / \(number(honest?["specificity"]))", ""))
        rows.append(("F1 optimistic (threshold picked on these predictions)", number(optimistic?["f1"]), "biased upward"))
        let width = rows.map(\.0.count).max()!
        let images = metrics["images"]?.intValue.map(String.init) ?? "?"
        let patients = metrics["patients"]?.intValue.map(String.init) ?? "?"
        let coverage = metrics["coverage"].map { c in " of \(c["images_in_table"]?.intValue.map(String.init) ?? "?") in the table" } ?? ""
        var lines = ["", "Scoreboard of \(pipeline), stage \(stage): \(images) images\(coverage), \(patients) patients; 95% bootstrap intervals over patients"]
        for (name, value, range) in rows {
            let shown = value.count >= 7 ? value : value.padding(toLength: 7, withPad: " ", startingAt: 0)
            lines.append("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + shown + "  " + range)
        }
        return lines.joined(separator: "\n")
    }
}
