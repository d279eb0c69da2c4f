/// A 5x7 bitmap font for the burned-in laterality/view markers and labels (the characters they need).
/// Each glyph is seven rows, top first, five bits per row with the leftmost pixel in bit 4.
enum MarkerFont {
    static let glyphs: [Character: [UInt8]] = [
        "A": [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        "C": [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
        "E": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        "I": [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "L": [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
        "M": [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
        "O": [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        "R": [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        "S": [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
        "T": [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
        "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        " ": [0, 0, 0, 0, 0, 0, 0],
    ]

    /// Size in pixels of `text` drawn with `cell`-pixel font pixels (one font pixel between characters).
    static func size(_ text: String, cell: Int) -> (width: Int, height: Int) {
        (max(0, text.count * 6 - 1) * cell, 7 * cell)
    }

    /// Calls `set(x, y)` for every lit pixel of `text` with its top-left corner at (left, top).
    static func draw(_ text: String, left: Int, top: Int, cell: Int, _ set: (Int, Int) -> Void) {
        for (i, character) in text.uppercased().enumerated() {
            let rows = glyphs[character] ?? glyphs[" "]!
            for (gy, bits) in rows.enumerated() {
                for gx in 0..<5 where bits & (0b10000 >> UInt8(gx)) != 0 {
                    for py in 0..<cell {
                        for px in 0..<cell { set(left + (i * 6 + gx) * cell + px, top + gy * cell + py) }
                    }
                }
            }
        }
    }
}
