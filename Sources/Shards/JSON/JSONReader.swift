/// A pull parser over JSON bytes (RFC 8259): `JSONValue.parse` builds a tree with it, and the stage contract's
/// documents read their fields with it straight into typed values, without the intermediate objects that make
/// Foundation's JSONDecoder, or a tree of dictionaries, slow on a manifest of every file of an archive
/// (docs/measurements.md).
///
/// Syntax errors are `JSONValue.ParseError` (with the byte offset); wrong or missing fields are
/// `JSONReader.FieldError` naming the field's path, e.g. `files[3].sha256: expected a string, found a number`.
/// Strings without escapes become Strings straight from their bytes (validated as UTF-8), and integers are
/// read digit by digit.
public struct JSONReader {
    public struct FieldError: SubjectReasonError {
        public let field: String
        public let reason: String
        public init(field: String, reason: String) {
            self.field = field
            self.reason = reason
        }
        public var subject: String { field }
    }

    enum PathComponent {
        /// The key's bytes between its quotes (a range, not a String: no reference counting per member).
        case key(Range<Int>)
        case index(Int)
    }

    let bytes: [UInt8]
    var position = 0
    var depth = 0
    static let maxDepth = 512
    /// The keys and list indices leading to the value being read, for error messages.
    var path: [PathComponent] = []

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Reads a whole document with `read`; only whitespace may follow it.
    public static func read<T>(_ bytes: [UInt8], _ read: (inout JSONReader) throws -> T) throws -> T {
        var reader = JSONReader(bytes)
        let value = try read(&reader)
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw reader.syntaxError("trailing characters") }
        return value
    }

    // MARK: Errors

    func syntaxError(_ reason: String) -> JSONValue.ParseError {
        JSONValue.ParseError(reason: "\(reason) at byte \(position)")
    }

    /// The path of the value being read: `files[3].sha256`, or `(document)` at the top.
    public var fieldPath: String {
        var out = ""
        for component in path {
            switch component {
            case .key(let range):
                let k = String(decoding: bytes[range], as: UTF8.self)
                out += out.isEmpty ? k : ".\(k)"
            case .index(let i): out += "[\(i)]"
            }
        }
        return out.isEmpty ? "(document)" : out
    }

    /// A required member of the object being read is absent.
    public func missing(_ key: String) -> FieldError {
        FieldError(field: fieldPath == "(document)" ? key : "\(fieldPath).\(key)", reason: "is missing")
    }

    /// The value at the current position is of the wrong kind.
    func wrongKind(_ expected: String) -> FieldError {
        FieldError(field: fieldPath, reason: "expected \(expected), found \(kindAhead)")
    }

    var kindAhead: String {
        guard position < bytes.count else { return "the end of the text" }
        switch bytes[position] {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "a mapping"
        case UInt8(ascii: "["): return "a list"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        default: return "a number"
        }
    }

    // MARK: Structure

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Consumes `null` if it comes next.
    public mutating func skipNull() -> Bool {
        skipWhitespace()
        guard position + 4 <= bytes.count, bytes[position] == UInt8(ascii: "n") else { return false }
        guard (try? literal("null")) != nil else { return false }
        return true
    }

    /// Consumes the opening bracket of a container and goes one level deeper; false (and back up) when the
    /// container is empty and its closing bracket consumed too.
    mutating func open(_ opening: Unicode.Scalar, _ closing: Unicode.Scalar, kind: String) throws -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: opening) else { throw wrongKind(kind) }
        guard depth < Self.maxDepth else { throw syntaxError("nesting deeper than \(Self.maxDepth)") }
        position += 1
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: closing) { position += 1; return false }
        depth += 1
        return true
    }

    /// Reads an object, calling `member` with each key; `member` must read (or `skipValue`) its value.
    public mutating func object(_ member: (inout JSONReader, String) throws -> Void) throws {
        guard try open("{", "}", kind: "a mapping") else { return }
        defer { depth -= 1 }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw syntaxError("expected a key") }
            let keyStart = position + 1
            let key = try parseString()
            let keyBytes = keyStart..<(position - 1)
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw syntaxError("expected :") }
            position += 1
            path.append(.key(keyBytes))
            try member(&self, key)
            path.removeLast()
            skipWhitespace()
            guard position < bytes.count else { throw syntaxError("unterminated mapping") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return }
            throw syntaxError("expected , or }")
        }
    }

    /// Reads a list, calling `item` for each element; `item` must read its value.
    public mutating func array(_ item: (inout JSONReader) throws -> Void) throws {
        guard try open("[", "]", kind: "a list") else { return }
        defer { depth -= 1 }
        var index = 0
        while true {
            path.append(.index(index))
            try item(&self)
            path.removeLast()
            index += 1
            skipWhitespace()
            guard position < bytes.count else { throw syntaxError("unterminated list") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return }
            throw syntaxError("expected , or ]")
        }
    }

    /// Reads a list of `T`, each element read by `read`.
    public mutating func list<T>(_ read: (inout JSONReader) throws -> T) throws -> [T] {
        var out: [T] = []
        try array { out.append(try read(&$0)) }
        return out
    }

    /// Reads and drops one value (an unknown member: the Codable forms ignore those too).
    public mutating func skipValue() throws { _ = try value() }

    // MARK: Scalars

    public mutating func string() throws -> String {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw wrongKind("a string") }
        return try parseString()
    }

    /// A whole number (also written as a double without fraction, as some writers do).
    public mutating func int() throws -> Int {
        skipWhitespace()
        let start = position
        guard position < bytes.count, bytes[position] == UInt8(ascii: "-") || (bytes[position] >= 0x30 && bytes[position] <= 0x39) else {
            throw wrongKind("a whole number")
        }
        let number = try parseNumber()
        guard let i = number.intValue else {
            position = start
            throw wrongKind("a whole number")
        }
        return i
    }

    public mutating func double() throws -> Double {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "-") || (bytes[position] >= 0x30 && bytes[position] <= 0x39) else {
            throw wrongKind("a number")
        }
        return try parseNumber().doubleValue!
    }

    public mutating func optionalString() throws -> String? { skipNull() ? nil : try string() }
    public mutating func optionalInt() throws -> Int? { skipNull() ? nil : try int() }

    /// Any value, as a tree.
    public mutating func value() throws -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw syntaxError("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "["):
            var items: [JSONValue] = []
            try array { items.append(try $0.value()) }
            return .array(items)
        case UInt8(ascii: "{"):
            var fields: [String: JSONValue] = [:]
            try object { reader, key in fields[key] = try reader.value() }
            return .object(fields)
        default: return try parseNumber()
        }
    }

    mutating func literal(_ text: StaticString) throws {
        let count = text.utf8CodeUnitCount
        guard position + count <= bytes.count,
              bytes[position..<position + count].elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: count))
        else { throw syntaxError("expected \(text)") }
        position += count
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = position
        var isInteger = true
        while position < bytes.count {
            let b = bytes[position]
            if (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
                position += 1
            } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                isInteger = false
                position += 1
            } else { break }
        }
        guard position > start else { throw syntaxError("unexpected character") }
        let digits = bytes[start..<position]
        // Up to 18 digits always fit Int64: read them directly; anything else goes through the standard parsers.
        if isInteger, let i = Self.smallInteger(digits) { return .int(i) }
        let text = String(decoding: digits, as: UTF8.self)
        if isInteger, let i = Int64(text) { return .int(i) }
        guard let d = Double(text) else { throw syntaxError("bad number \(text)") }
        return .double(d)
    }

    static func smallInteger(_ digits: ArraySlice<UInt8>) -> Int64? {
        let negative = digits.first == UInt8(ascii: "-")
        let body = negative ? digits.dropFirst() : digits
        guard !body.isEmpty, body.count <= 18 else { return nil }
        var value: Int64 = 0
        for b in body {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            value = value * 10 + Int64(b - 0x30)
        }
        return negative ? -value : value
    }

    mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count,
              let text = String(validating: bytes[position..<position + 4], as: UTF8.self),
              let v = UInt32(text, radix: 16) else { throw syntaxError("bad \\u escape") }
        position += 4
        return v
    }

    /// A string starting at the opening quote.
    mutating func parseString() throws -> String {
        position += 1
        // Fast path: no escape before the closing quote.
        let start = position
        var high: UInt8 = 0
        while position < bytes.count, bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\") {
            high |= bytes[position]
            position += 1
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
            position += 1
            // ASCII needs no validation (and the validating initialiser was a third of reading a manifest).
            if high < 0x80 { return String(decoding: bytes[start..<position - 1], as: UTF8.self) }
            guard let s = String(validating: bytes[start..<position - 1], as: UTF8.self) else { throw syntaxError("string is not UTF-8") }
            return s
        }
        var out = Array(bytes[start..<position])
        while true {
            guard position < bytes.count else { throw syntaxError("unterminated string") }
            let b = bytes[position]
            position += 1
            if b == UInt8(ascii: "\"") { break }
            if b != UInt8(ascii: "\\") { out.append(b); continue }
            guard position < bytes.count else { throw syntaxError("unterminated escape") }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar), position + 6 <= bytes.count,
                   bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                    position += 2
                    let low = try parseHex4()
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low &- 0xDC00)
                }
                out.append(contentsOf: String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
            default: out.append(e)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw syntaxError("string is not UTF-8") }
        return s
    }
}
