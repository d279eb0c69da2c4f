import ArgumentParser
import DICOM
import Foundation

extension DICOMCommand {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "info", abstract: "Print a file's header facts as JSON (pixel data is not read).")

        @Argument(help: "A DICOM file.") var file: String

        func run() throws {
            let dicom = try DICOMFile(path: file)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(HeaderFacts(try dicom.header())), as: UTF8.self))
        }
    }
}
