import Foundation
import Imaging

/// A line chart on an RGB canvas (Imaging's): frame, grid, tick labels, titled axes, a legend. Enough
/// for ROC, precision-recall and calibration plots without a plotting dependency.
public struct Chart {
    public struct Series {
        public var name: String
        public var color: RGB
        public var points: [(x: Double, y: Double)]
        public var dashed = false
        public var markers = false

        public init(name: String, color: RGB, points: [(x: Double, y: Double)], dashed: Bool = false, markers: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dashed = dashed
            self.markers = markers
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xRange: ClosedRange<Double> = 0...1
    public var yRange: ClosedRange<Double> = 0...1
    public var series: [Series] = []
    /// Legend in the lower right (ROC) rather than the upper right.
    public var legendAtBottom = false

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    static let width = 640, height = 520
    static let left = 64, right = 24, top = 44, bottom = 56
    static let ink = RGB(40, 40, 40), grid = RGB(225, 225, 225), muted = RGB(150, 150, 150)

    var plotWidth: Int { Self.width - Self.left - Self.right }
    var plotHeight: Int { Self.height - Self.top - Self.bottom }

    /// Canvas position of a data point.
    func place(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        let fx = (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound)
        let fy = (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)
        return (Double(Self.left) + fx * Double(plotWidth), Double(Self.top + plotHeight) - fy * Double(plotHeight))
    }

    public func render() -> RGBImage {
        var canvas = RGBImage(width: Self.width, height: Self.height)
        let ticks = 5
        for t in 0...ticks {
            let f = Double(t) / Double(ticks)
            let x = xRange.lowerBound + f * (xRange.upperBound - xRange.lowerBound)
            let y = yRange.lowerBound + f * (yRange.upperBound - yRange.lowerBound)
            let (px, _) = place(x, yRange.lowerBound), (_, py) = place(xRange.lowerBound, y)
            canvas.line(px, Double(Self.top), px, Double(Self.top + plotHeight), Self.grid)
            canvas.line(Double(Self.left), py, Double(Self.left + plotWidth), py, Self.grid)
            let xText = tickText(x, span: xRange), yText = tickText(y, span: yRange)
            canvas.text(xText, x: Int(px) - RGBImage.textWidth(xText) / 2, y: Self.top + plotHeight + 8, Self.ink)
            canvas.text(yText, x: Self.left - 8 - RGBImage.textWidth(yText), y: Int(py) - 3, Self.ink)
        }
        canvas.stroke(PixelRect(x: Self.left, y: Self.top, width: plotWidth + 1, height: plotHeight + 1), Self.ink)
        canvas.text(title, x: (Self.width - RGBImage.textWidth(title, scale: 2)) / 2, y: 12, Self.ink, scale: 2)
        canvas.text(xLabel, x: Self.left + (plotWidth - RGBImage.textWidth(xLabel)) / 2, y: Self.height - 24, Self.ink)
        canvas.text(yLabel, x: 8, y: Self.top - 14, Self.ink)

        for s in series {
            let points = s.points.map { place($0.x, $0.y) }
            if s.dashed {
                for (a, b) in zip(points, points.dropFirst()) { dashedLine(&canvas, a, b, s.color) }
            } else {
                canvas.polyline(points, s.color, thickness: 2)
            }
            if s.markers {
                for p in points { canvas.fill(PixelRect(x: Int(p.x) - 3, y: Int(p.y) - 3, width: 7, height: 7), s.color) }
            }
        }
        drawLegend(&canvas)
        return canvas
    }

    func drawLegend(_ canvas: inout RGBImage) {
        let named = series.filter { !$0.name.isEmpty }
        guard !named.isEmpty else { return }
        let rowHeight = 14
        let boxWidth = 34 + named.map { RGBImage.textWidth($0.name) }.max()!
        let boxHeight = 8 + rowHeight * named.count
        let x = Self.left + plotWidth - boxWidth - 10
        let y = legendAtBottom ? Self.top + plotHeight - boxHeight - 10 : Self.top + 10
        canvas.fill(PixelRect(x: x, y: y, width: boxWidth, height: boxHeight), .white)
        canvas.stroke(PixelRect(x: x, y: y, width: boxWidth, height: boxHeight), Self.muted)
        for (i, s) in named.enumerated() {
            let rowY = y + 6 + i * rowHeight
            canvas.fill(PixelRect(x: x + 6, y: rowY + 2, width: 18, height: 3), s.color)
            canvas.text(s.name, x: x + 30, y: rowY, Self.ink)
        }
    }

    func dashedLine(_ canvas: inout RGBImage, _ a: (x: Double, y: Double), _ b: (x: Double, y: Double), _ color: RGB) {
        let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
        let dash = 6.0
        var s = 0.0
        while s < length {
            let e = min(s + dash, length)
            canvas.line(a.x + (b.x - a.x) * s / length, a.y + (b.y - a.y) * s / length,
                        a.x + (b.x - a.x) * e / length, a.y + (b.y - a.y) * e / length, color)
            s += 2 * dash
        }
    }

    func tickText(_ v: Double, span: ClosedRange<Double>) -> String {
        let width = span.upperBound - span.lowerBound
        return String(format: width <= 0.1 ? "%.3f" : width <= 0.5 ? "%.2f" : "%.1f", v)
    }
}
