/// An 8-bit RGB color.
public struct RGB: Sendable, Equatable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let gray = RGB(128, 128, 128)
    public static let red = RGB(230, 40, 40)
    public static let green = RGB(40, 200, 60)
    public static let blue = RGB(50, 100, 230)
    public static let yellow = RGB(240, 210, 40)
    public static let orange = RGB(245, 140, 30)
    public static let cyan = RGB(40, 200, 220)
}

/// An 8-bit RGB image to draw on: contact sheets, plots. Drawing clips at the edges; coordinates are
/// pixels with (0, 0) the top-left pixel's centre for lines and polygons.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Row-major, 3 bytes per pixel (r, g, b).
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width >= 0 && height >= 0)
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<width * height {
            pixels[3 * i] = background.r
            pixels[3 * i + 1] = background.g
            pixels[3 * i + 2] = background.b
        }
    }

    public subscript(x: Int, y: Int) -> RGB {
        get {
            let i = 3 * (y * width + x)
            return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set { set(x, y, newValue) }
    }

    @inline(__always)
    public mutating func set(_ x: Int, _ y: Int, _ color: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        pixels[i] = color.r
        pixels[i + 1] = color.g
        pixels[i + 2] = color.b
    }

    public mutating func fill(_ rect: PixelRect, _ color: RGB) {
        let x0 = max(0, rect.x), x1 = min(width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 { for x in x0..<x1 { set(x, y, color) } }
    }

    /// The outline of `rect`, `thickness` pixels wide, drawn inside it.
    public mutating func stroke(_ rect: PixelRect, _ color: RGB, thickness: Int = 1) {
        let t = max(1, min(thickness, rect.width, rect.height))
        fill(PixelRect(x: rect.x, y: rect.y, width: rect.width, height: t), color)
        fill(PixelRect(x: rect.x, y: rect.maxY - t, width: rect.width, height: t), color)
        fill(PixelRect(x: rect.x, y: rect.y, width: t, height: rect.height), color)
        fill(PixelRect(x: rect.maxX - t, y: rect.y, width: t, height: rect.height), color)
    }

    /// A straight line from (x0, y0) to (x1, y1), stamped with a square `thickness` pixels wide.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ color: RGB, thickness: Int = 1) {
        guard x0.isFinite, y0.isFinite, x1.isFinite, y1.isFinite else { return }
        let steps = max(1, Int(max(abs(x1 - x0), abs(y1 - y0)).rounded(.up)))
        let t = max(1, thickness), before = (t - 1) / 2
        for s in 0...steps {
            let f = Double(s) / Double(steps)
            let x = Int((x0 + (x1 - x0) * f).rounded()) - before
            let y = Int((y0 + (y1 - y0) * f).rounded()) - before
            if t == 1 { set(x, y, color) } else { fill(PixelRect(x: x, y: y, width: t, height: t), color) }
        }
    }

    /// Connected line segments through `points`.
    public mutating func polyline(_ points: [(x: Double, y: Double)], _ color: RGB, thickness: Int = 1) {
        for (a, b) in zip(points, points.dropFirst()) { line(a.x, a.y, b.x, b.y, color, thickness: thickness) }
    }

    /// Fills the polygon through `points` (even-odd rule): a pixel is inside when its centre is.
    public mutating func fillPolygon(_ points: [(x: Double, y: Double)], _ color: RGB) {
        for (y, spans) in polygonSpans(points, width: width, height: height) {
            for span in spans { for x in span { set(x, y, color) } }
        }
    }

    /// Copies `image` 1:1 with its top-left at (x, y), samples rescaled to 8 bits.
    public mutating func draw(_ image: GrayImage, x: Int, y: Int) {
        let bytes = image.eightBit()
        for row in 0..<image.height {
            for column in 0..<image.width {
                let v = bytes[row * image.width + column]
                set(x + column, y + row, RGB(v, v, v))
            }
        }
    }

    /// Writes `text` with the built-in 5x7 font, each font pixel `scale` x `scale`; (x, y) is the top-left
    /// of the first character. Characters outside printable ASCII draw as '?'.
    public mutating func text(_ text: String, x: Int, y: Int, _ color: RGB, scale: Int = 1) {
        var penX = x
        for scalar in text.unicodeScalars {
            let rows = BitmapFont.glyph(scalar)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    fill(PixelRect(x: penX + column * scale, y: y + row * scale, width: scale, height: scale), color)
                }
            }
            penX += BitmapFont.advance * scale
        }
    }

    /// Width in pixels that `text(_:x:y:_:scale:)` covers.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        let n = text.unicodeScalars.count
        return n == 0 ? 0 : (n * BitmapFont.advance - 1) * scale
    }

    public static func textHeight(scale: Int = 1) -> Int { BitmapFont.glyphHeight * scale }
}

/// Rows of pixels whose centres lie inside the polygon (even-odd rule), as half-open x ranges per row,
/// clipped to `width` x `height`. Shared by drawing and by mask filling (pectoral removal).
func polygonSpans(_ points: [(x: Double, y: Double)], width: Int, height: Int) -> [(Int, [Range<Int>])] {
    guard points.count >= 3 else { return [] }
    let ys = points.map(\.y)
    let top = max(0, Int(ys.min()!.rounded(.up))), bottom = min(height - 1, Int(ys.max()!.rounded(.down)))
    guard top <= bottom else { return [] }
    var result: [(Int, [Range<Int>])] = []
    for y in top...bottom {
        let cy = Double(y)
        var crossings: [Double] = []
        for i in 0..<points.count {
            let a = points[i], b = points[(i + 1) % points.count]
            // Half-open rule: an edge counts when the row lies in [min y, max y), so vertices count once.
            if (a.y <= cy && b.y > cy) || (b.y <= cy && a.y > cy) {
                crossings.append(a.x + (cy - a.y) / (b.y - a.y) * (b.x - a.x))
            }
        }
        crossings.sort()
        var spans: [Range<Int>] = []
        var i = 0
        while i + 1 < crossings.count {
            let from = max(0, Int(crossings[i].rounded(.up)))
            let to = min(width - 1, Int(crossings[i + 1].rounded(.down)))
            if from <= to { spans.append(from..<to + 1) }
            i += 2
        }
        if !spans.isEmpty { result.append((y, spans)) }
    }
    return result
}

/// A 5x7 pixel font for printable ASCII (labels on sheets and plots need no font files).
enum BitmapFont {
    static let glyphWidth = 5
    static let glyphHeight = 7
    /// Horizontal distance from one character to the next: the glyph and one blank column.
    static let advance = 6

    /// Seven rows per glyph, two hex digits each, bit 4 the leftmost column; from ' ' (32) to '~' (126).
    private static let table: [String] = [
        "00000000000000", "04040404040004", "0A0A0000000000", "0A0A1F0A1F0A0A", "040F140E051E04", // space ! " # $
        "18190204081303", "0C12140815120D", "04040000000000", "02040808080402", "08040202020408", // % & ' ( )
        "0004150E150400", "0004041F040400", "000000000C0408", "0000001F000000", "00000000000C0C", // * + , - .
        "00010204081000", "0E11131519110E", "040C040404040E", "0E11010204081F", "1F02040201110E", // / 0 1 2 3
        "02060A121F0202", "1F101E0101110E", "0608101E11110E", "1F010204080808", "0E11110E11110E", // 4 5 6 7 8
        "0E11110F01020C", "000C0C000C0C00", "000C0C000C0408", "02040810080402", "00001F001F0000", // 9 : ; < =
        "08040201020408", "0E110102040004", "0E11010D15150E", "0E1111111F1111", "1E11111E11111E", // > ? @ A B
        "0E11101010110E", "1C12111111121C", "1F10101E10101F", "1F10101E101010", "0E11101711110F", // C D E F G
        "1111111F111111", "0E04040404040E", "0702020202120C", "11121418141211", "1010101010101F", // H I J K L
        "111B1515111111", "11111915131111", "0E11111111110E", "1E11111E101010", "0E11111115120D", // M N O P Q
        "1E11111E141211", "0F10100E01011E", "1F040404040404", "1111111111110E", "11111111110A04", // R S T U V
        "1111111515150A", "11110A040A1111", "1111110A040404", "1F01020408101F", "0E08080808080E", // W X Y Z [
        "00100804020100", "0E02020202020E", "040A1100000000", "0000000000001F", "08040200000000", // \ ] ^ _ `
        "00000E010F110F", "1010161911111E", "00000E1010110E", "01010D1311110F", "00000E111F100E", // a b c d e
        "0609081C080808", "000F11110F010E", "10101619111111", "04000C0404040E", "0200060202120C", // f g h i j
        "10101214181412", "0C04040404040E", "00001A15151111", "00001619111111", "00000E1111110E", // k l m n o
        "00001E111E1010", "00000D130F0101", "00001619101010", "00000E100E011E", "08081C08080906", // p q r s t
        "0000111111130D", "00001111110A04", "0000111115150A", "0000110A040A11", "000011110F010E", // u v w x y
        "00001F0204081F", "02040408040402", "04040404040404", "08040402040408", "00000815020000", // z { | } ~
    ]

    private static let glyphs: [[UInt8]] = table.map { hex in
        let digits = Array(hex.utf8)
        return (0..<glyphHeight).map { UInt8(String(decoding: digits[2 * $0..<2 * $0 + 2], as: UTF8.self), radix: 16)! }
    }

    static func glyph(_ scalar: Unicode.Scalar) -> [UInt8] {
        let code = Int(scalar.value)
        return (32...126).contains(code) ? glyphs[code - 32] : glyphs[Int(("?" as Unicode.Scalar).value) - 32]
    }
}
