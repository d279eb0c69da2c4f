import Foundation

/// A CSV problem, located: the file, the 1-based line and, when one is at fault, the column.
public struct CSVError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let column: String?
    public let reason: String

    public init(file: String, line: Int? = nil, column: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        var place = file
        if let line { place += " line \(line)" }
        if let column { place += ", column '\(column)'" }
        return "\(place): \(reason)"
    }
}

/// A CSV table read whole (RFC 4180: comma separated, fields optionally in double quotes with `""` for a
/// quote, quoted fields may hold commas and line breaks, CRLF or LF line ends, an optional UTF-8 BOM).
/// The first row is the header. Cells stay text; the typed accessors convert a column at once and name the
/// file, line and column of the first cell that does not fit.
public struct CSVTable {
    /// Where the text came from, for error messages.
    public let file: String
    public let header: [String]
    /// rows[r][c]: every row has exactly `header.count` cells.
    public let rows: [[String]]
    /// The 1-based line on which each row starts (the header is on line 1).
    public let lines: [Int]

    public init(header: [String], rows: [[String]], file: String = "<memory>") {
        self.init(header: header, rows: rows, lines: rows.indices.map { $0 + 2 }, file: file)
    }

    init(header: [String], rows: [[String]], lines: [Int], file: String) {
        self.file = file
        self.header = header
        self.rows = rows
        self.lines = lines
    }

    /// The rows `keep` accepts (given the row's index), each still on its line of the file.
    public func filter(_ keep: (Int) -> Bool) -> CSVTable {
        let kept = rows.indices.filter(keep)
        return CSVTable(header: header, rows: kept.map { rows[$0] }, lines: kept.map { lines[$0] }, file: file)
    }

    /// Reads and parses a file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CSVError(file: path, reason: "cannot read the file")
        }
        try self.init(parsing: [UInt8](data), file: path)
    }

    /// Parses CSV text.
    public init(parsing bytes: [UInt8], file: String) throws {
        self.file = file
        var records: [[String]] = []
        var starts: [Int] = []
        var parser = CSVParser(bytes: bytes, file: file)
        while let (record, line) = try parser.nextRecord() {
            records.append(record)
            starts.append(line)
        }
        guard let header = records.first else { throw CSVError(file: file, reason: "empty file: no header row") }
        var seen = Set<String>()
        for name in header where !seen.insert(name).inserted {
            throw CSVError(file: file, line: starts[0], column: name, reason: "the header names this column twice")
        }
        for (record, line) in zip(records.dropFirst(), starts.dropFirst()) where record.count != header.count {
            throw CSVError(file: file, line: line, reason: "\(record.count) fields, the header has \(header.count)")
        }
        self.header = header
        self.rows = Array(records.dropFirst())
        self.lines = Array(starts.dropFirst())
    }

    public var count: Int { rows.count }

    public func has(_ column: String) -> Bool { header.contains(column) }

    public func index(of column: String) throws -> Int {
        guard let i = header.firstIndex(of: column) else {
            throw CSVError(file: file, line: 1, column: column, reason: "no such column; the header has \(header.joined(separator: ", "))")
        }
        return i
    }

    public func strings(_ column: String) throws -> [String] {
        let c = try index(of: column)
        return rows.map { $0[c] }
    }

    /// Converts every cell of a column, or fails naming the first cell that does not convert.
    public func column<T>(_ column: String, as kind: String, _ convert: (String) -> T?) throws -> [T] {
        let c = try index(of: column)
        var out: [T] = []
        out.reserveCapacity(rows.count)
        for (r, row) in rows.enumerated() {
            guard let value = convert(row[c]) else {
                throw CSVError(file: file, line: lines[r], column: column, reason: "expected \(kind), found \"\(row[c])\"")
            }
            out.append(value)
        }
        return out
    }

    public func ints(_ name: String) throws -> [Int] {
        try column(name, as: "a whole number") { Int($0.trimmingCharacters(in: .whitespaces)) ?? wholeDouble($0) }
    }

    public func doubles(_ name: String) throws -> [Double] {
        try column(name, as: "a number") { Double($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// A column of 0/1 labels (also accepts true/false, as pandas writes booleans).
    public func binary(_ name: String) throws -> [Int] {
        try column(name, as: "0 or 1") { cell -> Int? in
            switch cell.trimmingCharacters(in: .whitespaces).lowercased() {
            case "0", "0.0", "false": return 0
            case "1", "1.0", "true": return 1
            default: return nil
            }
        }
    }

    /// Serialises back to RFC 4180 text with LF line ends, quoting only the cells that need it.
    public static func format(header: [String], rows: [[String]]) -> String {
        var out = ""
        for row in [header] + rows {
            out += row.map(quoted).joined(separator: ",")
            out += "\n"
        }
        return out
    }

    static func quoted(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// pandas writes integer columns that had a missing value as floats ("68.0"): accept whole floats as ints.
private func wholeDouble(_ text: String) -> Int? {
    guard let d = Double(text.trimmingCharacters(in: .whitespaces)), d == d.rounded(), abs(d) < 9e15 else { return nil }
    return Int(d)
}

/// A byte-level RFC 4180 state machine.
private struct CSVParser {
    let bytes: [UInt8]
    let file: String
    var position = 0
    var line = 1

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")

    /// The next record and the line it starts on; nil at the end. A blank line at the very end is no record.
    mutating func nextRecord() throws -> ([String], Int)? {
        guard position < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        while true {
            fields.append(try field())
            if position >= bytes.count { return (fields, start) }
            let b = bytes[position]
            position += 1
            if b == Self.comma { continue }
            // A line end: CRLF, LF or a lone CR.
            if b == Self.cr, position < bytes.count, bytes[position] == Self.lf { position += 1 }
            line += 1
            return (fields, start)
        }
    }

    /// One field, leaving `position` on the separator or line end that follows it.
    mutating func field() throws -> String {
        guard position < bytes.count, bytes[position] == Self.quote else {
            let start = position
            while position < bytes.count {
                let b = bytes[position]
                if b == Self.comma || b == Self.lf || b == Self.cr { break }
                if b == Self.quote { throw CSVError(file: file, line: line, reason: "a quote inside an unquoted field") }
                position += 1
            }
            return try text(bytes[start..<position])
        }
        let opened = line
        position += 1
        var out: [UInt8] = []
        while true {
            guard position < bytes.count else { throw CSVError(file: file, line: opened, reason: "a quoted field is never closed") }
            let b = bytes[position]
            position += 1
            if b == Self.quote {
                if position < bytes.count, bytes[position] == Self.quote { out.append(Self.quote); position += 1; continue }
                if position < bytes.count, ![Self.comma, Self.lf, Self.cr].contains(bytes[position]) {
                    throw CSVError(file: file, line: line, reason: "text after a closing quote")
                }
                return try text(out[...])
            }
            if b == Self.lf || (b == Self.cr && (position >= bytes.count || bytes[position] != Self.lf)) { line += 1 }
            out.append(b)
        }
    }

    func text(_ slice: ArraySlice<UInt8>) throws -> String {
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw CSVError(file: file, line: line, reason: "not UTF-8 text")
        }
        return s
    }
}
