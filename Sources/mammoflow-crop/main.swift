// mammoflow-crop: flip each image so the chest wall is on the left, then crop it to the breast.
// params: { method: study|otsu, threshold: 0.0784 (fraction of full scale, study only), border: 0.01,
//           min_area: 0.02, orient: true }
// Metadata added: flipped (bool), crop {x, y, width, height} in the flipped input's pixels.
import Imaging
import Shards
import Stages

runStage("crop") { context in
    let (_, input) = try context.soleInput()
    let p = context.params
    let method = try p.choice("method", ["study", "otsu"], default: "study")
    var options = BreastCrop.Options()
    options.threshold = method == "otsu" ? .otsu : .fraction(try p.double("threshold", default: 20.0 / 255.0))
    options.border = try p.double("border", default: options.border)
    options.minAreaFraction = try p.double("min_area", default: options.minAreaFraction)
    let orient = try p.bool("orient", default: true)
    guard (0..<0.5).contains(options.border), (0...1).contains(options.minAreaFraction) else {
        throw StageError(stage: context.stage, reason: "params: border must be in [0, 0.5) and min_area in [0, 1]")
    }

    let written = try mapImageRecords(context, try context.records(of: input)) { ref, image in
        var image = image
        var flipped = false
        if orient {
            let orientation = Orientation(laterality: ref.metadata["laterality"]?.stringValue, image: image)
            if orientation.disagree {
                context.log("warning \(ref.key): laterality puts the chest wall on the \(orientation.byLaterality!.rawValue), pixel mass on the \(orientation.byMass.rawValue); following laterality")
            }
            if orientation.flip { image = image.flippedHorizontally() }
            flipped = orientation.flip
        }
        let found: BreastCrop.Found
        do { found = try BreastCrop.find(in: image, options: options) } catch let error as BreastCrop.NotFound {
            return .reject("no breast found: \(error.reason)")
        }
        let box = found.box
        return .image(image.cropped(to: box), metadata: ref.metadata.adding([
            "flipped": .bool(flipped),
            "crop": ["x": .int(Int64(box.x)), "y": .int(Int64(box.y)), "width": .int(Int64(box.width)), "height": .int(Int64(box.height))],
        ]))
    }
    try context.finish(records: written, summary: ["method": .string(method)])
}
