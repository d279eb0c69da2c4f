import ArgumentParser

@main
struct Mammoflow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mammoflow",
        abstract: "Screening-mammography DICOM archive to a trained and scored classifier, as a cached staged pipeline.",
        subcommands: [
            RunCommand.self,
            StatusCommand.self,
            WhyCommand.self,
            DagCommand.self,
            ShowCommand.self,
            VerifyCommand.self,
            GCCommand.self,
            ParamsCommand.self,
            SynthCommand.self,
            Sheet.self,
            ImagingBench.self,
            FoldsCommand.self,
            ScoreCommand.self,
            MetricsCommand.self,
            BoardCommand.self,
            ShardCommand.self,
            DICOMCommand.self,
        ]
    )
}
