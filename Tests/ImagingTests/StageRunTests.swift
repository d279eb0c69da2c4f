import Foundation
import Shards
import StageTesting
import Testing
@testable import Imaging

/// End-to-end runs of the image stage executables on a job file, through StageTesting's harness; these
/// adapters only turn images into records and back.
enum StageRun {
    /// Writes `records` as one input shard and returns its manifest (with locations filled in).
    static func artifact(_ records: [(key: String, image: GrayImage, metadata: JSONValue)], in dir: String, reduce: Int? = nil) throws -> ArtifactManifest {
        try StageHarness.inputArtifact(records.map { r in
            var metadata = r.metadata
            if let reduce { metadata = .object((metadata.objectValue ?? [:]).merging(["reduce": .int(Int64(reduce))]) { $1 }) }
            return InputRecord(key: r.key, metadata: metadata, payload: r.image.payload.encode())
        }, in: dir)
    }

    /// Runs `mammoflow-<stage>` on one input; returns its manifest with locations filled in, and its log.
    static func run(_ stage: String, params: JSONValue = [:], input: ArtifactManifest, in dir: String) throws -> (ArtifactManifest, String) {
        let result = try StageHarness().run(stage, params: params, inputs: ["in": input], in: dir)
        return (result.manifest, result.log)
    }

    /// Every record of an artifact: key, metadata, image.
    static func records(_ manifest: ArtifactManifest) throws -> [(key: String, metadata: JSONValue, image: GrayImage)] {
        try StageHarness.records(of: manifest).map { ($0.key, $0.metadata, GrayImage(try ImagePayload(decoding: $0.payload))) }
    }
}

@Test func cropAndPectoralStagesRunOnAJob() throws {
    let dir = try temporaryDirectory()
    let mlo = Phantom(pectoral: (150, 260), seed: 8), cc = Phantom(pectoral: nil, seed: 9)
    let input = try StageRun.artifact([
        ("1/10", mlo.image, ["view": "MLO", "laterality": "L", "file": "train_images/1/10.dcm"]),
        ("1/11", cc.image.flippedHorizontally(), ["view": "CC", "laterality": "R", "file": "train_images/1/11.dcm"]),
        ("2/20", GrayImage(width: 100, height: 120, bits: 12, filledWith: 20), ["view": "CC", "laterality": "L", "source": ["path": "train_images/2/20.dcm"]]),
    ], in: "\(dir)/in")

    let (cropped, _) = try StageRun.run("crop", input: input, in: dir)
    #expect(cropped.records == 2 && cropped.rejects.count == 1)
    #expect(cropped.rejects.first?.key == "2/20" && cropped.rejects.first?.reason.hasPrefix("no breast found") == true)
    #expect(cropped.rejects.first?.file == "train_images/2/20.dcm")
    let crops = try StageRun.records(cropped)
    #expect(crops.map(\.key) == ["1/10", "1/11"])
    #expect(crops[0].metadata["flipped"] == false && crops[1].metadata["flipped"] == true)
    #expect(crops[1].metadata["view"] == "CC", "input metadata is carried forward")
    let box = crops[0].metadata["crop"]!
    let found = PixelRect(x: box["x"]!.intValue!, y: box["y"]!.intValue!, width: box["width"]!.intValue!, height: box["height"]!.intValue!)
    #expect(found.iou(mlo.breastBox) >= 0.97 && crops[0].image.width == found.width && crops[0].image.height == found.height)
    // The flipped right breast ends up with its chest wall on the left, like the left one.
    #expect(ChestWall.byPixelMass(crops[1].image) == .left)

    // Same inputs, byte-identical shards.
    let (again, _) = try StageRun.run("crop", input: input, in: "\(dir)/again")
    #expect(again.shards.map(\.sha256) == cropped.shards.map(\.sha256))

    let (pectoral, _) = try StageRun.run("pectoral", input: cropped, in: dir)
    let out = try StageRun.records(pectoral)
    #expect(out[0].metadata["pectoral"]?["angle"]?.doubleValue != nil)
    #expect(out[0].image != crops[0].image)
    #expect(out[1].metadata["pectoral"]?["reason"]?.stringValue?.hasPrefix("view CC") == true && out[1].image == crops[1].image)
    #expect(pectoral.rejects.count == 1, "the crop stage's reject is carried forward")

    let (all, _) = try StageRun.run("pectoral", params: ["views": "all", "fill": 0], input: cropped, in: "\(dir)/all")
    #expect(try StageRun.records(all)[1].metadata["pectoral"]?["reason"]?.stringValue?.hasPrefix("view") != true)
}

@Test func downscaleStageAveragesOrPassesThrough() throws {
    let dir = try temporaryDirectory()
    let image = Phantom(width: 64, height: 80, pectoral: nil, label: false).image
    let input = try StageRun.artifact([("1/1", image, ["view": "CC", "laterality": "L"])], in: "\(dir)/in")
    let (scaled, _) = try StageRun.run("downscale", params: ["factor": 4], input: input, in: dir)
    let out = try StageRun.records(scaled)
    #expect(out.count == 1 && out[0].image == Resample.areaAverage(image, factor: 4))
    #expect(out[0].metadata["downscale"]?["factor"] == 4)

    // Decode already reduced by 4 (reduce: 2): the input shard itself is the output; nothing is rewritten.
    let reduced = try StageRun.artifact([("1/1", image, ["view": "CC"])], in: "\(dir)/reduced", reduce: 2)
    let (passed, log) = try StageRun.run("downscale", params: ["factor": 4], input: reduced, in: "\(dir)/pass")
    #expect(passed.shards.map(\.sha256) == reduced.shards.map(\.sha256) && passed.records == 1)
    #expect(log.contains("pass through"))
    // Reduced by 2 at decode, factor 4 wanted: the remaining 2 is applied.
    let half = try StageRun.artifact([("1/1", image, ["view": "CC"])], in: "\(dir)/half", reduce: 1)
    let (rest, _) = try StageRun.run("downscale", params: ["factor": 4], input: half, in: "\(dir)/rest")
    #expect(try StageRun.records(rest)[0].image == Resample.areaAverage(image, factor: 2))
    // Reduced by 4 at decode, factor 2 wanted: no record can be made, so the job fails and says what to set.
    do {
        _ = try StageRun.run("downscale", params: ["factor": 2], input: reduced, in: "\(dir)/coarser")
        Issue.record("a decode reduction the factor cannot hold was accepted")
    } catch let error as StageRunFailure {
        #expect(error.log.contains("already reduced by 4 at decode") && error.log.contains("set decode's reduce"), "\(error.log)")
    }
}

@Test func badParamsStopTheStageWithAClearError() throws {
    let dir = try temporaryDirectory()
    let input = try StageRun.artifact([("1/1", Phantom(pectoral: nil).image, ["view": "CC"])], in: "\(dir)/in")
    do {
        _ = try StageRun.run("crop", params: ["method": "magic"], input: input, in: dir)
        Issue.record("a bad method was accepted")
    } catch let error as StageRunFailure {
        #expect(error.log.contains("param 'method' must be one of study, otsu"))
    }
}
