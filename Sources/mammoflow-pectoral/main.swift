// mammoflow-pectoral: removes the pectoral muscle from images with the chest wall on the left (crop's
// output). params: declared below (`mammoflow params pectoral`); min_support 0, min_contrast -1 and
// meets_chest_wall false reproduce the study's line choice.
// Metadata added: pectoral {x0, y0, x1, y1, angle, distance, pixels} (the line's intercepts with the top
// and left edges) or {reason} when the image is left unchanged.
import Imaging
import Shards
import Stages

let defaults = PectoralRemoval.Options()
let params = [
    ParamSpec("views", .strings, default: ["MLO"], help: "views to process (e.g. [MLO], or all); the others pass unchanged"),
    ParamSpec("fill", .int, default: "background", minimum: 0, maximum: 65535, choices: ["background"],
              help: "what replaces the muscle: the image's background, or this sample value"),
    ParamSpec("sigma", .number, default: .double(defaults.sigma), minimum: 0, help: "Gaussian blur before edge detection, pixels"),
    ParamSpec("max_distance", .number, default: .double(defaults.maxDistance), minimum: 0, help: "farthest line from the corner, pixels at 1024 rows (scaled)"),
    ParamSpec("min_angle", .number, default: .double(defaults.minAngle), minimum: 0, maximum: 90, help: "smallest line angle, degrees"),
    ParamSpec("max_angle", .number, default: .double(defaults.maxAngle), minimum: 0, maximum: 90, help: "largest line angle, degrees"),
    ParamSpec("min_support", .number, default: .double(defaults.minSupport), minimum: 0, maximum: 1, help: "fraction of the line that must lie on edges"),
    ParamSpec("min_contrast", .number, default: .double(defaults.minContrast), minimum: -1, maximum: 1, help: "how much brighter the muscle must be than the breast beside it"),
    ParamSpec("meets_chest_wall", .bool, default: .bool(defaults.meetsChestWall), help: "the line must reach the chest wall"),
]

runStage("pectoral", params: params, reusesRecords: true) { context in
    let (_, input) = try context.soleInput()
    let p = context.params
    let views = try p.strings("views").map { $0.uppercased() }
    let fill = p.value("fill")?.intValue.map { UInt16($0) }
    var options = PectoralRemoval.Options()
    options.sigma = try p.double("sigma")
    options.maxDistance = try p.double("max_distance")
    options.minAngle = try p.double("min_angle")
    options.maxAngle = try p.double("max_angle")
    options.minSupport = try p.double("min_support")
    options.minContrast = try p.double("min_contrast")
    options.meetsChestWall = try p.bool("meets_chest_wall")

    // Views not processed pass through without being decoded.
    let skipped = { (ref: RecordRef) -> JSONValue? in
        let view = ref.metadata["view"]?.stringValue ?? "?"
        guard views.contains("ALL") || views.contains(view.uppercased()) else {
            return ref.metadata.adding(["pectoral": ["reason": .string("view \(view) not in \(views)")]])
        }
        return nil
    }
    let written = try mapImageRecords(context, try context.records(of: input), passThrough: skipped) { ref, image in
        if let value = fill, value > image.maxValue {
            return .reject("fill \(value) exceeds the image's \(image.bits)-bit range")
        }
        var out = consume image  // the decoded pixels themselves: the fill needs no copy of the image
        switch PectoralRemoval.remove(from: &out, fill: fill, options: options) {
        case .unchanged(let reason):
            return .unchanged(metadata: ref.metadata.adding(["pectoral": ["reason": .string(reason)]]))
        case .removed(let line, let pixels):
            let s = line.segment
            return .image(out, metadata: ref.metadata.adding(["pectoral": [
                "x0": .double(s.x0), "y0": .double(s.y0), "x1": .double(s.x1), "y1": .double(s.y1),
                "angle": .double(line.angle), "distance": .double(line.distance), "pixels": .int(Int64(pixels)),
            ]]))
        }
    }
    try context.finish(records: written, summary: ["views": .array(views.map { .string($0) })])
}
