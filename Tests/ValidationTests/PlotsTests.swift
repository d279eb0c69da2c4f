import Imaging
import Testing
@testable import Validation

@Suite struct PlotsTests {
    @Test func chartPlacesDataInsideTheFrame() {
        var chart = Chart(title: "t", xLabel: "x", yLabel: "y")
        chart.series = [Chart.Series(name: "a", color: .red, points: [(0, 0), (1, 1)])]
        let (x0, y0) = chart.place(0, 0), (x1, y1) = chart.place(1, 1)
        #expect(x0 == Double(Chart.left) && y1 == Double(Chart.top))
        #expect(x1 == Double(Chart.width - Chart.right) && y0 == Double(Chart.height - Chart.bottom))
        let image = chart.render()
        #expect(image.width == Chart.width && image.height == Chart.height)
        // The diagonal's midpoint is drawn in the series colour.
        let mid = chart.place(0.5, 0.5)
        #expect(image[Int(mid.x), Int(mid.y)] == .red)
    }

    @Test func scorePlotsDrawEveryLevel() throws {
        let report = scorePredictions(ScoringTests.images, replicates: 0)
        let roc = ScorePlots.roc(ScoringTests.images, report)
        #expect(roc.series.filter { !$0.name.isEmpty }.map { $0.name.components(separatedBy: " ")[0] } == ["image", "breast_mean", "breast_max"])
        let calibration = ScorePlots.calibration(ScoringTests.images, bins: 2)
        // Image top bin: predictions 0.4, 0.8 and 1.5 clipped to 1, mean 0.733: the axes end at the next 0.05.
        #expect(calibration.xRange == 0...0.75)
        let png = try PNG.encode(roc.render())
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }
}
