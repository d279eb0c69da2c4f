import Shards

extension ContactSheet.Item {
    /// A thumbnail of one record: labels from its key and metadata (view, laterality, flip). With `overlay`,
    /// the crop box and pectoral line: from the metadata where the stage that made the image recorded them
    /// in its frame (the pectoral line), otherwise computed here with the default methods and drawn in the
    /// image's own frame (an uncropped decode or downscale image gets its box and line).
    public init(key: String, image: GrayImage, metadata: JSONValue, overlay: Bool) {
        let view = metadata["view"]?.stringValue ?? "?"
        let laterality = metadata["laterality"]?.stringValue ?? "?"
        var labels = [key, "\(view) \(laterality) \(image.width)x\(image.height)\(metadata["flipped"]?.boolValue == true ? " flipped" : "")"]
        var box: PixelRect?
        var line: LineSegment?
        var note: String?
        if overlay {
            if let p = metadata["pectoral"], let x0 = p["x0"]?.doubleValue, let y0 = p["y0"]?.doubleValue,
               let x1 = p["x1"]?.doubleValue, let y1 = p["y1"]?.doubleValue {
                line = LineSegment(x0: x0, y0: y0, x1: x1, y1: y1)
            } else if let reason = metadata["pectoral"]?["reason"]?.stringValue {
                labels.append(reason)
            } else if metadata["crop"] == nil {
                // Not cropped yet: orient, crop and look for the line as the stages would, then map back.
                let orientation = Orientation(laterality: metadata["laterality"]?.stringValue, image: image)
                let oriented = orientation.flip ? image.flippedHorizontally() : image
                do {
                    let found = try BreastCrop.find(in: oriented)
                    var shown = found.box
                    if orientation.flip { shown.x = image.width - found.box.maxX }
                    box = shown
                    if view.uppercased() == "MLO" {
                        var cropped = oriented.cropped(to: found.box)
                        if case .removed(let l, _) = PectoralRemoval.remove(from: &cropped) {
                            let s = l.segment
                            func toImage(_ x: Double) -> Double {
                                orientation.flip ? Double(image.width) - (Double(found.box.x) + x) : Double(found.box.x) + x
                            }
                            line = LineSegment(x0: toImage(s.x0), y0: Double(found.box.y) + s.y0,
                                               x1: toImage(s.x1), y1: Double(found.box.y) + s.y1)
                        }
                    }
                    labels.append("overlay computed here")
                } catch {
                    note = "no breast found"
                }
            } else if view.uppercased() == "MLO" {
                // Cropped but no pectoral step yet: show where it would cut.
                var copy = image
                if case .removed(let l, _) = PectoralRemoval.remove(from: &copy) { line = l.segment }
                labels.append("line computed here")
            }
        }
        self.init(image: image, labels: labels, box: box, line: line, note: note)
    }
}
