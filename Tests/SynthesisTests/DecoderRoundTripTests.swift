import Foundation
import Testing
import DICOM
@testable import Synthesis

struct DecoderRoundTripTests {
    /// Every vendor's file, written by our encoders, reads back through mammoflow's own parser and decoders to
    /// exactly the rendered values, with the header (geometry, bits, photometric, window, VOI function) intact.
    @Test(arguments: VendorProfile.known.keys.sorted())
    func ourDecoderReadsOurFilesExactly(machine: Int) throws {
        let record = RenderingTests.record(machine: machine, laterality: machine % 2 == 0 ? "L" : "R",
                                           view: machine % 3 == 0 ? "CC" : "MLO", cancer: true, id: 7000 + machine)
        let parameters = CohortParameters(seed: 11, scale: 0.07)
        let rendered = MammogramRenderer.render(record, parameters: parameters)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synth-rt-\(getpid())-\(machine).dcm").path
        try Data(try SyntheticCohort.dicomFile(record, rendered, seed: parameters.seed)).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let file = try DICOMFile(path: path)
        let header = try file.header()
        #expect(file.transferSyntax == rendered.profile.transferSyntax)
        #expect(header.rows == rendered.rows && header.columns == rendered.columns)
        #expect(header.bitsStored == rendered.profile.bitsStored && header.bitsAllocated == 16)
        #expect(header.photometric == rendered.profile.photometric)
        #expect(header.voiFunction.rawValue == rendered.profile.voiFunction)
        #expect(header.windows.first?.center == rendered.windowCenter && header.windows.first?.width == rendered.windowWidth)
        let pixels = try file.decodeFrame()
        #expect(pixels.values == rendered.pixels.map(Int32.init))
    }
}
