import ArgumentParser
import Foundation

@main
struct Mammoflow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mammoflow",
        abstract: "Screening-mammography DICOM archive to a trained and scored classifier, as a cached staged pipeline.",
        groupedSubcommands: [
            // What works on a pipeline file and its cache.
            CommandGroup(name: "Pipeline", subcommands: [
                RunCommand.self,
                StatusCommand.self,
                WhyCommand.self,
                DagCommand.self,
                ShowCommand.self,
                ParamsCommand.self,
                VerifyCommand.self,
                GCCommand.self,
                BoardCommand.self,
                MetricsCommand.self,
            ]),
            // What works on files, without a pipeline: the steps a stage runs, by hand.
            CommandGroup(name: "Tool", subcommands: [
                SynthCommand.self,
                DICOMCommand.self,
                ShardCommand.self,
                SheetCommand.self,
                FoldsCommand.self,
                ScoreCommand.self,
                ImagingBenchCommand.self,
            ]),
        ]
    )

    /// ArgumentParser's own `main`, except for errors a command's `run()` throws as `ValidationError`: those are
    /// shown with that command's usage (ArgumentParser would show the top level's, which lists subcommands).
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ValidationError {
            let subcommand = type(of: command)
            let usage = usageString(for: subcommand).replacingOccurrences(of: "\n", with: "\n       ")
            let name = commandPath(to: subcommand).joined(separator: " ")
            FileHandle.standardError.write(Data("Error: \(error.message)\nUsage: \(usage)\n  See '\(name) --help' for more information.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }

    /// The command names from the root to `target` ("mammoflow", "shard", "cat").
    static func commandPath(to target: ParsableCommand.Type, from command: ParsableCommand.Type = Mammoflow.self) -> [String] {
        let name = command.configuration.commandName ?? String(describing: command).lowercased()
        if ObjectIdentifier(command) == ObjectIdentifier(target) { return [name] }
        for subcommand in command.configuration.subcommands {
            let path = commandPath(to: target, from: subcommand)
            if !path.isEmpty { return [name] + path }
        }
        return []
    }
}
