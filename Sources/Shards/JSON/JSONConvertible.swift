/// A document of the stage contract (manifest, job, run record...) with a hand-written JSON form: read with a
/// `JSONReader` straight into the typed value and written member by member in canonical form (keys sorted by
/// their bytes, no whitespace). Foundation's coders took most of a 54,706-file ingest's second run. The
/// fields and names are those of the types' Codable forms, and tests check that both give the same bytes.
public protocol JSONConvertible {
    init(reading reader: inout JSONReader) throws
    /// Appends the canonical JSON form.
    func writeJSON(into out: inout [UInt8])
}

extension JSONConvertible {
    /// Reads a whole document.
    public init(jsonBytes bytes: [UInt8]) throws {
        self = try JSONReader.read(bytes) { try Self(reading: &$0) }
    }

    /// Reads a whole document; errors name `file`.
    public init(jsonFile bytes: [UInt8], named file: String) throws {
        do { try self.init(jsonBytes: bytes) } catch {
            throw FileError(path: file, reason: "\(error)")
        }
    }

    /// The canonical JSON bytes (sorted keys, no whitespace).
    public var canonicalJSON: [UInt8] {
        var out: [UInt8] = []
        writeJSON(into: &out)
        return out
    }
}

/// Writes a JSON object member by member, for the direct writers of `JSONConvertible` types: the caller
/// gives the members in canonical order (keys sorted by their bytes).
public struct JSONObjectWriter {
    private var first = true

    public init(into out: inout [UInt8]) { out.append(UInt8(ascii: "{")) }

    /// Writes `"key":`; the value follows.
    public mutating func key(_ key: StaticString, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    /// Writes `"name":` for a key known only at run time (the caller still keeps them sorted).
    public mutating func key(named name: String, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        JSONValue.writeString(name, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ key: StaticString, _ value: String, into out: inout [UInt8]) {
        self.key(key, into: &out)
        JSONValue.writeString(value, into: &out)
    }

    public mutating func int(_ key: StaticString, _ value: Int, into out: inout [UInt8]) {
        self.key(key, into: &out)
        JSONValue.writeInteger(Int64(value), into: &out)
    }

    public mutating func json(_ key: StaticString, _ value: JSONValue, into out: inout [UInt8]) {
        self.key(key, into: &out)
        value.write(into: &out)
    }

    /// A mapping with keys known only at run time, written in canonical order.
    public mutating func mapping<T>(_ key: StaticString, _ items: [String: T], into out: inout [UInt8],
                                    _ write: (T, inout [UInt8]) -> Void) {
        self.key(key, into: &out)
        var inner = JSONObjectWriter(into: &out)
        for name in items.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            inner.key(named: name, into: &out)
            write(items[name]!, &out)
        }
        inner.end(into: &out)
    }

    public mutating func value(_ key: StaticString, _ value: some JSONConvertible, into out: inout [UInt8]) {
        self.key(key, into: &out)
        value.writeJSON(into: &out)
    }

    public mutating func array<T: JSONConvertible>(_ key: StaticString, _ items: [T], into out: inout [UInt8]) {
        self.key(key, into: &out)
        out.append(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            item.writeJSON(into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    public func end(into out: inout [UInt8]) { out.append(UInt8(ascii: "}")) }
}
