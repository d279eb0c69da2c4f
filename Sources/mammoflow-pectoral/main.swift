// mammoflow-pectoral: removes the pectoral muscle from images with the chest wall on the left (crop's
// output). params: { views: [MLO] (or "all", the study's choice), fill: background | a sample value,
//                    sigma: 2.25, max_distance: 384 (at 1024 rows, scaled), min_angle: 1, max_angle: 89,
//                    min_support: 0.3, min_contrast: 0.03, meets_chest_wall: true
//                    (0, -1 and false reproduce the study's line choice) }
// Metadata added: pectoral {x0, y0, x1, y1, angle, distance, pixels} (the line's intercepts with the top
// and left edges) or {reason} when the image is left unchanged.
import Imaging
import Shards
import Stages

runStage("pectoral") { context in
    let (_, input) = try context.soleInput()
    let p = context.params
    let views = try p.strings("views", default: ["MLO"]).map { $0.uppercased() }
    let fill: UInt16?
    if let number = p.value("fill")?.intValue {
        guard (0...65535).contains(number) else { throw StageError(stage: context.stage, reason: "param 'fill' must be 0...65535 or \"background\"") }
        fill = UInt16(number)
    } else {
        _ = try p.choice("fill", ["background"], default: "background")
        fill = nil
    }
    var options = PectoralRemoval.Options()
    options.sigma = try p.double("sigma", default: options.sigma)
    options.maxDistance = try p.double("max_distance", default: options.maxDistance)
    options.minAngle = try p.double("min_angle", default: options.minAngle)
    options.maxAngle = try p.double("max_angle", default: options.maxAngle)
    options.minSupport = try p.double("min_support", default: options.minSupport)
    options.minContrast = try p.double("min_contrast", default: options.minContrast)
    options.meetsChestWall = try p.bool("meets_chest_wall", default: options.meetsChestWall)

    let written = try mapImageRecords(context, try context.records(of: input)) { ref, image in
        let view = ref.metadata["view"]?.stringValue ?? "?"
        guard views.contains("ALL") || views.contains(view.uppercased()) else {
            return .unchanged(metadata: ref.metadata.adding(["pectoral": ["reason": .string("view \(view) not in \(views)")]]))
        }
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
