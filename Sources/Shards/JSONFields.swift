/// Typed access to the fields of a JSON object, for the hand-written `init(json:)` of the stage contract's
/// documents. Foundation's JSONDecoder took 0.3 s for a 54,706-file manifest; parsing into a `JSONValue`
/// and reading the fields this way takes a fraction of that. Errors name the field's path
/// (`files[3].sha256: expected a string, found a number`); callers add the file name.
public struct JSONFields {
    public struct DecodeError: Error, CustomStringConvertible {
        public let field: String
        public let reason: String
        public init(field: String, reason: String) {
            self.field = field
            self.reason = reason
        }
        public var description: String { "\(field): \(reason)" }
    }

    let fields: [String: JSONValue]
    /// Where this object is in the document, computed only for an error message.
    let location: () -> String

    public init(_ value: JSONValue, at location: @escaping @autoclosure () -> String = "(document)") throws {
        guard case .object(let fields) = value else {
            throw DecodeError(field: location(), reason: "expected a mapping, found \(value.kindName)")
        }
        self.fields = fields
        self.location = location
    }

    func path(_ key: String) -> String {
        let parent = location()
        return parent == "(document)" ? key : "\(parent).\(key)"
    }

    func wrong(_ key: String, _ expected: String, _ found: JSONValue) -> DecodeError {
        DecodeError(field: path(key), reason: "expected \(expected), found \(found.kindName)")
    }

    /// A field that must be present (null counts as absent).
    public func value(_ key: String) throws -> JSONValue {
        guard let v = fields[key], v != .null else { throw DecodeError(field: path(key), reason: "is missing") }
        return v
    }

    public func optionalValue(_ key: String) -> JSONValue? {
        guard let v = fields[key], v != .null else { return nil }
        return v
    }

    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard case .string(let s) = v else { throw wrong(key, "a string", v) }
        return s
    }

    public func optionalString(_ key: String) throws -> String? {
        guard let v = optionalValue(key) else { return nil }
        guard case .string(let s) = v else { throw wrong(key, "a string", v) }
        return s
    }

    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard let i = v.intValue else { throw wrong(key, "a whole number", v) }
        return i
    }

    public func optionalInt(_ key: String) throws -> Int? {
        guard let v = optionalValue(key) else { return nil }
        guard let i = v.intValue else { throw wrong(key, "a whole number", v) }
        return i
    }

    public func double(_ key: String) throws -> Double {
        let v = try value(key)
        guard let d = v.doubleValue else { throw wrong(key, "a number", v) }
        return d
    }

    /// A list field, each item made by `make` (given the item and its location for errors).
    public func array<T>(_ key: String, _ make: (JSONValue, @escaping @autoclosure () -> String) throws -> T) throws -> [T] {
        let v = try value(key)
        guard case .array(let items) = v else { throw wrong(key, "a list", v) }
        let here = path(key)
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() { out.append(try make(item, "\(here)[\(i)]")) }
        return out
    }

    /// A mapping field, each value made by `make`.
    public func mapping<T>(_ key: String, _ make: (JSONValue, @escaping @autoclosure () -> String) throws -> T) throws -> [String: T] {
        let v = try value(key)
        guard case .object(let items) = v else { throw wrong(key, "a mapping", v) }
        let here = path(key)
        var out: [String: T] = [:]
        for (name, item) in items { out[name] = try make(item, "\(here).\(name)") }
        return out
    }
}

/// A value of the stage contract with its own JSON form, read and written without Foundation's coders.
public protocol JSONConvertible {
    /// `location` names the value's place in its document for errors.
    init(json: JSONValue, at location: @escaping @autoclosure () -> String) throws
    var json: JSONValue { get }
    /// Appends the canonical form of `json`; large documents write it directly instead of building the tree.
    func writeJSON(into out: inout [UInt8])
}

extension JSONConvertible {
    /// Parses and reads a whole document; errors name `file`.
    public init(jsonFile bytes: [UInt8], named file: String) throws {
        do { try self.init(json: JSONValue.parse(bytes), at: "(document)") } catch {
            throw FileError(path: file, reason: "\(error)")
        }
    }

    public func writeJSON(into out: inout [UInt8]) { json.write(into: &out) }

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
