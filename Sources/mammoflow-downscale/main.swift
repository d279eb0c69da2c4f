// mammoflow-downscale: images to a smaller size. params (declared below): factor (exact block mean, the
// study's 1/4) or width and height (area when shrinking, bilinear when growing). When decode already reduced
// the images (metadata `reduce: r`, a factor of 2^r per side) only the rest of the factor is applied;
// when nothing is left the input shards become this artifact's files as they are: no pixel is copied.
import Foundation
import Imaging
import Shards
import Stages

let params = [
    ParamSpec("factor", .int, default: 4, minimum: 1, help: "divide each side by this (exact block mean)"),
    ParamSpec("width", .int, default: 0, minimum: 0, help: "resize to this width instead (with height; 0: use factor)"),
    ParamSpec("height", .int, default: 0, minimum: 0, help: "resize to this height instead (with width; 0: use factor)"),
]

runStage("downscale", params: params, reusesRecords: true) { context in
    let (name, input) = try context.soleInput()
    let factor = try context.params.int("factor")
    let width = try context.params.int("width"), height = try context.params.int("height")
    guard (width == 0) == (height == 0) else {
        throw StageError(stage: context.stage, reason: "params: width and height must be given together")
    }
    let refs = try context.records(of: input)

    /// The factor decode already applied to a record (`reduce: r` halves each side r times).
    func reduction(_ ref: RecordRef) -> Int { 1 << min(15, max(0, ref.metadata["reduce"]?.intValue ?? 0)) }

    if width == 0, context.job.slice == nil, !refs.isEmpty, refs.allSatisfy({ reduction($0) == factor }) {
        try context.planReuse(reused: refs.count, computed: 0)
        try context.linkShards(of: input)
        context.reportReuse(reused: refs.count, computed: 0)
        context.log("input '\(name)' already reduced by \(factor) at decode: its shards pass through unchanged")
        try context.finish(records: input.records, summary: ["passthrough": true, "factor": .int(Int64(factor))])
        return
    }

    // Decode reduced further than (or not in step with) the factor: every record would fail alike, so the job does.
    if width == 0, let ref = refs.first(where: { factor % reduction($0) != 0 }) {
        throw StageError(stage: context.stage, reason: "record \(ref.key) was already reduced by \(reduction(ref)) at decode (its param reduce), which does not divide factor \(factor): set decode's reduce to 0 (full size) or a factor dividing \(factor)")
    }
    let written = try mapImageRecords(context, refs) { ref, image in
        let already = reduction(ref)
        if width > 0 {
            let out = Resample.resize(image, width: width, height: height)
            return .image(out, metadata: ref.metadata.adding(["downscale": ["width": .int(Int64(width)), "height": .int(Int64(height))]]))
        }
        let rest = factor / already
        let out = Resample.areaAverage(image, factor: rest)
        guard out.width > 0, out.height > 0 else { return .reject("\(image.width)x\(image.height) is smaller than the factor \(rest)") }
        return .image(out, metadata: ref.metadata.adding(["downscale": ["factor": .int(Int64(factor)), "applied": .int(Int64(rest))]]))
    }
    try context.finish(records: written, summary: ["factor": .int(Int64(factor))])
}
