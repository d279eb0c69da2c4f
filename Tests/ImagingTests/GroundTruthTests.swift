import Foundation
import Synthesis
import Testing
@testable import Imaging

/// The synthetic cohort's rendered images as a decode stage would hand them on: VOI window (LINEAR or
/// SIGMOID, as the vendor's header says) to 16 bits, MONOCHROME1 inverted so bright means dense.
func displayImage(_ rendered: RenderedImage) -> GrayImage {
    let c = rendered.windowCenter, w = max(rendered.windowWidth, 1)
    let sigmoid = rendered.profile.voiFunction == "SIGMOID"
    let pixels = rendered.pixels.map { stored -> UInt16 in
        let x = Double(stored)
        let y = sigmoid ? 1 / (1 + exp(-4 * (x - c) / w)) : min(max((x - (c - 0.5)) / (w - 1) + 0.5, 0), 1)
        let v = UInt16((y * 65535).rounded())
        return rendered.profile.isMonochrome1 ? 65535 - v : v
    }
    return GrayImage(width: rendered.columns, height: rendered.rows, bits: 16, pixels: pixels)
}

struct TruthScores {
    var cropIoU: [Double] = []
    var muscleRemoved: [Double] = []
    var tissueRemoved: [Double] = []
    var missedLines = 0
    /// MLO crops with the line found, for a contact sheet (MAMMOFLOW_TRUTH_SHEET=out.png writes one).
    var sheet: [ContactSheet.Item] = []
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

/// Crop and pectoral removal, each image as the stages run them (orient, crop, MLO-only pectoral), scored
/// against the renderer's truth: the breast box, and the pectoral edge (with its bulge).
func scoreAgainstTruth(_ parameters: CohortParameters, images: Int, options: PectoralRemoval.Options = PectoralRemoval.Options()) -> TruthScores {
    var scores = TruthScores()
    for record in CohortTable.sample(parameters).prefix(images) {
        let rendered = MammogramRenderer.render(record, parameters: parameters)
        let truth = rendered.truth
        let display = displayImage(rendered)
        let orientation = Orientation(laterality: record.laterality, image: display)
        let image = orientation.flip ? display.flippedHorizontally() : display
        let w = image.width
        // Truth in the chest-wall-left frame; boxes inclusive.
        let flip = truth.chestWall == "right"
        let (tx0, tx1) = flip ? (w - 1 - truth.breastBox[2], w - 1 - truth.breastBox[0]) : (truth.breastBox[0], truth.breastBox[2])
        let trueBox = PixelRect(x: tx0, y: truth.breastBox[1], width: tx1 - tx0 + 1, height: truth.breastBox[3] - truth.breastBox[1] + 1)
        guard let found = try? BreastCrop.find(in: image) else {
            scores.cropIoU.append(0)
            continue
        }
        scores.cropIoU.append(found.box.iou(trueBox))
        guard record.view == "MLO", let top = truth.pectoralTop, let wall = truth.pectoralChestWall else { continue }

        var cropped = image.cropped(to: found.box)
        let before = cropped
        let topX = abs(top[0] - wall[0]), left = wall[1], bulge = truth.pectoralBulge ?? 0
        func isMuscle(_ x: Int, _ y: Int) -> Bool {
            let gx = Double(x + found.box.x), gy = Double(y + found.box.y)
            guard gy < left else { return false }
            let t = gy / left
            return gx < topX * (1 - t) + bulge * sin(.pi * t)
        }
        guard case .removed(let line, _) = PectoralRemoval.remove(from: &cropped, options: options) else {
            scores.missedLines += 1
            scores.muscleRemoved.append(0)
            continue
        }
        var removed = [Bool](repeating: false, count: cropped.pixels.count)
        let s = line.segment
        for (y, spans) in polygonSpans([(0, 0), (s.x0, 0), (0, s.y1)], width: cropped.width, height: cropped.height) {
            for span in spans { for x in span { removed[y * cropped.width + x] = true } }
        }
        var muscle = 0, muscleHit = 0, tissue = 0, tissueHit = 0
        for y in 0..<cropped.height {
            for x in 0..<cropped.width {
                let i = y * cropped.width + x
                if isMuscle(x, y) {
                    muscle += 1
                    if removed[i] { muscleHit += 1 }
                } else if before.pixels[i] > found.threshold {
                    tissue += 1
                    if removed[i] { tissueHit += 1 }
                }
            }
        }
        scores.muscleRemoved.append(Double(muscleHit) / Double(max(muscle, 1)))
        scores.tissueRemoved.append(Double(tissueHit) / Double(max(tissue, 1)))
        scores.sheet.append(ContactSheet.Item(image: before, labels: [truth.key, String(format: "muscle %.3f tissue %.3f", scores.muscleRemoved.last!, scores.tissueRemoved.last!)], line: s))
    }
    return scores
}

@Test func cropAndPectoralMeetTheSyntheticGroundTruth() {
    // Scale 0.25 renders images at the pipeline's 1/4 size directly (832x1024 for the commonest vendor).
    let scores = scoreAgainstTruth(CohortParameters(patients: 5, seed: 11, scale: 0.25), images: 20)
    let summary = String(format: "crop IoU median %.4f min %.4f (n=%d); pectoral muscle removed median %.4f, tissue removed median %.4f (n=%d, no line %d)",
                         median(scores.cropIoU), scores.cropIoU.min() ?? .nan, scores.cropIoU.count,
                         median(scores.muscleRemoved), median(scores.tissueRemoved), scores.muscleRemoved.count, scores.missedLines)
    print("ground truth: \(summary)")
    if let path = ProcessInfo.processInfo.environment["MAMMOFLOW_TRUTH_SHEET"] {
        try? PNG.write(ContactSheet.render(scores.sheet), to: path)
    }
    #expect(median(scores.cropIoU) >= 0.97 && (scores.cropIoU.min() ?? 0) >= 0.8, "\(summary)")
    #expect(scores.muscleRemoved.count >= 8 && median(scores.muscleRemoved) >= 0.9, "\(summary)")
    #expect(median(scores.tissueRemoved) <= 0.02, "\(summary)")
}

@Test func pectoralRemovalHoldsUpAtTheDemoSize() {
    // The demo pipeline renders at 1/4 and downscales by 4 again: ~210x260 px, where near-vertical texture
    // lines that never meet the chest wall inside the image were often the nearest candidate. Measured on
    // this cohort (35 MLO images with a line): requiring the line to meet the chest wall gives median tissue
    // removed 2.7% and 5 images over 10%; without it 7.9% and 12.
    let scores = scoreAgainstTruth(CohortParameters(patients: 20, seed: 7, scale: 0.0625, prevalence: 0.15), images: 80)
    let heavy = scores.tissueRemoved.filter { $0 > 0.1 }.count
    let summary = String(format: "muscle removed median %.3f, tissue removed median %.3f, %d of %d over 10%%, no line %d",
                         median(scores.muscleRemoved), median(scores.tissueRemoved), heavy, scores.tissueRemoved.count, scores.missedLines)
    print("demo size: \(summary)")
    #expect(median(scores.muscleRemoved) >= 0.9, "\(summary)")
    #expect(median(scores.tissueRemoved) <= 0.03 && heavy * 6 <= scores.tissueRemoved.count, "\(summary)")
}
