// mammoflow-crop: flip each image so the chest wall is on the left, then crop it to the breast.
// params: declared below (`mammoflow params crop`).
// Metadata added: flipped (bool), crop {x, y, width, height} in the flipped input's pixels.
import Imaging
import Shards
import Stages

let defaults = BreastCrop.Options()
let params = [
    ParamSpec("method", .string, default: "study", choices: ["study", "otsu"], help: "study: a fixed threshold (the study's); otsu: Otsu's threshold per image"),
    ParamSpec("threshold", .number, default: .double(20.0 / 255.0), minimum: 0, maximum: 1, help: "breast threshold as a fraction of full scale (method study)"),
    ParamSpec("border", .number, default: .double(defaults.border), minimum: 0, maximum: 0.49, help: "fraction of each side ignored as a border"),
    ParamSpec("min_area", .number, default: .double(defaults.minAreaFraction), minimum: 0, maximum: 1, help: "smallest breast, as a fraction of the image"),
    ParamSpec("orient", .bool, default: true, help: "flip images so that the chest wall is on the left"),
]

runStage("crop", params: params, reusesRecords: true) { context in
    let (_, input) = try context.soleInput()
    let p = context.params
    let method = try p.string("method")
    var options = BreastCrop.Options()
    options.threshold = method == "otsu" ? .otsu : .fraction(try p.double("threshold"))
    options.border = try p.double("border")
    options.minAreaFraction = try p.double("min_area")
    let orient = try p.bool("orient")

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
