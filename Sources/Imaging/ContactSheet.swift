/// A grid of thumbnails with labels and, optionally, the crop box and pectoral line drawn over them:
/// how a person checks a preprocessing variant at a glance.
public enum ContactSheet {
    public struct Item: Sendable {
        public var image: GrayImage
        /// Lines of text under the thumbnail (key, view, laterality...).
        public var labels: [String]
        /// Drawn in green, in the image's own pixel coordinates.
        public var box: PixelRect?
        /// Drawn in red, in the image's own pixel coordinates.
        public var line: LineSegment?
        /// A one-line note drawn in orange over the thumbnail (a reject reason, "no pectoral line"...).
        public var note: String?

        public init(image: GrayImage, labels: [String], box: PixelRect? = nil, line: LineSegment? = nil, note: String? = nil) {
            self.image = image
            self.labels = labels
            self.box = box
            self.line = line
            self.note = note
        }
    }

    public struct Layout: Sendable {
        public var thumbnailWidth = 160
        public var thumbnailHeight = 200
        /// Columns of the grid; nil picks a roughly square sheet.
        public var columns: Int?
        public var gap = 8
        public var title: String?
        public init() {}
    }

    public static func render(_ items: [Item], layout: Layout = Layout(), threads: Int = 1) -> RGBImage {
        let columns = max(1, layout.columns ?? Int(Double(items.count).squareRoot().rounded(.up)))
        let rows = max(1, (items.count + columns - 1) / columns)
        let lineHeight = RGBImage.textHeight() + 3
        let labelLines = items.map(\.labels.count).max() ?? 0
        let cellW = layout.thumbnailWidth + layout.gap
        let cellH = layout.thumbnailHeight + labelLines * lineHeight + layout.gap
        let titleH = layout.title == nil ? 0 : 2 * RGBImage.textHeight(scale: 2)
        var sheet = RGBImage(width: columns * cellW + layout.gap, height: rows * cellH + layout.gap + titleH, background: RGB(24, 24, 28))
        if let title = layout.title { sheet.text(title, x: layout.gap, y: layout.gap / 2 + 2, .white, scale: 2) }
        for (n, item) in items.enumerated() {
            let left = layout.gap + (n % columns) * cellW, top = layout.gap + titleH + (n / columns) * cellH
            let size = Resample.fittedSize(width: item.image.width, height: item.image.height,
                                           maxWidth: layout.thumbnailWidth, maxHeight: layout.thumbnailHeight)
            let thumbnail = Resample.resize(item.image, width: size.width, height: size.height, threads: threads)
            sheet.fill(PixelRect(x: left, y: top, width: layout.thumbnailWidth, height: layout.thumbnailHeight), .black)
            sheet.draw(thumbnail, x: left, y: top)
            let sx = Double(size.width) / Double(item.image.width), sy = Double(size.height) / Double(item.image.height)
            if let box = item.box {
                let x0 = Int((Double(box.x) * sx).rounded()), y0 = Int((Double(box.y) * sy).rounded())
                let x1 = Int((Double(box.maxX) * sx).rounded()), y1 = Int((Double(box.maxY) * sy).rounded())
                sheet.stroke(PixelRect(x: left + x0, y: top + y0, width: max(1, x1 - x0), height: max(1, y1 - y0)), .green)
            }
            if let line = item.line {
                // Clip to the thumbnail: the intercepts may lie far outside the image.
                if let (a, b) = clip(line, width: Double(item.image.width), height: Double(item.image.height)) {
                    sheet.line(Double(left) + a.x * sx, Double(top) + a.y * sy, Double(left) + b.x * sx, Double(top) + b.y * sy, .red, thickness: 2)
                }
            }
            if let note = item.note { sheet.text(note, x: left + 3, y: top + 3, .orange) }
            // Labels are cut to the cell's width so they never run into the next cell.
            let fitting = max(3, (layout.thumbnailWidth + 1) / BitmapFont.advance)
            for (k, label) in item.labels.enumerated() {
                let text = label.count <= fitting ? label : String(label.prefix(fitting - 2)) + ".."
                sheet.text(text, x: left, y: top + layout.thumbnailHeight + 3 + k * lineHeight, RGB(220, 220, 220))
            }
        }
        return sheet
    }

    /// The part of `line` (extended infinitely) inside [0, width] x [0, height], if any.
    static func clip(_ line: LineSegment, width: Double, height: Double) -> ((x: Double, y: Double), (x: Double, y: Double))? {
        let dx = line.x1 - line.x0, dy = line.y1 - line.y0
        guard dx.isFinite, dy.isFinite, dx != 0 || dy != 0 else { return nil }
        // Liang-Barsky over t in (-inf, inf).
        var lo = -Double.infinity, hi = Double.infinity
        for (p, q) in [(-dx, line.x0), (dx, width - line.x0), (-dy, line.y0), (dy, height - line.y0)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let t = q / p
                if p < 0 { lo = max(lo, t) } else { hi = min(hi, t) }
            }
        }
        guard lo <= hi else { return nil }
        return ((line.x0 + lo * dx, line.y0 + lo * dy), (line.x0 + hi * dx, line.y0 + hi * dy))
    }
}
