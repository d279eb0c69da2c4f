import ArgumentParser

@main
struct Mammoflow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mammoflow",
        abstract: "Screening-mammography DICOM archive to a trained and scored classifier, as a cached staged pipeline.",
        subcommands: [NeuralBench.self]
    )
}
