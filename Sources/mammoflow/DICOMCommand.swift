import ArgumentParser
import DICOM

/// `mammoflow dicom info|pixels|time`: look inside DICOM files the way the decode stage sees them.
struct DICOMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dicom",
        abstract: "Read DICOM files: header facts, pixels in several value spaces, decode timing.",
        subcommands: [Info.self, Pixels.self, Time.self]
    )
}

/// What `--reduce`, `--reduce-by`, `--threads` and `--voi` mean in every `dicom` subcommand.
struct DecodeOptions: ParsableArguments {
    @Option(help: "Resolution reduction: 1/2^N of each side (JPEG 2000 at decode time, others by area averaging).")
    var reduce = 0
    @Option(help: "levels: JPEG 2000 from its resolution levels; area: JPEG 2000 decoded in full and area-averaged too.")
    var reduceBy: ReductionMethod = .levels
    @Option(help: "libopenjp2 threads for one image (time: workers over several files).")
    var threads = 1
    @Option(help: "Which window (or VOI LUT) to use when the file has several.")
    var voi = 0
}

extension ReductionMethod: ExpressibleByArgument {}
