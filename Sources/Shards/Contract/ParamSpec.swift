import Foundation

/// One parameter a stage declares: its name, type, allowed values, default and help. A stage built on
/// `Stages.runStage(_:params:_:)` checks its job's params against its declarations before it starts, prints
/// them for `--describe-params`, and the scheduler checks a pipeline's params against them while planning,
/// so a misspelt, empty or out-of-range param is an error before anything runs (docs/stage-contract.md).
public struct ParamSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A whole number.
        case int
        /// Any number.
        case number
        case string
        /// A file or folder. `mammoflow run` makes a relative one absolute, against the folder of the pipeline
        /// file that sets it or, from `--set`, the current directory: the stage itself runs in a folder of the
        /// cache's.
        case path
        case bool
        /// A list of strings (a single string is accepted as a list of one).
        case strings
        /// A list of whole numbers (a single number is accepted as a list of one).
        case ints
    }

    public var name: String
    public var type: Kind
    /// The value the stage uses when the param is absent; nil when the param is required (or, with
    /// `optional`, when absence has a meaning of its own, such as "no seed: unshuffled").
    public var defaultValue: JSONValue?
    /// A param without a default that may be left out.
    public var optional: Bool
    /// Inclusive bounds of a number.
    public var minimum: Double?
    public var maximum: Double?
    /// Words allowed for a string (or each string of a list); for a number, words allowed instead of a number.
    public var choices: [String]
    public var help: String

    public init(_ name: String, _ type: Kind, default defaultValue: JSONValue? = nil, optional: Bool = false,
                minimum: Double? = nil, maximum: Double? = nil, choices: [String] = [], help: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.optional = optional
        self.minimum = minimum
        self.maximum = maximum
        self.choices = choices
        self.help = help
    }

    public var isRequired: Bool { defaultValue == nil && !optional }

    /// Why `value` is not acceptable, or nil. A null or empty value is never acceptable: leaving the param
    /// out is how a user asks for its default.
    public func problem(with value: JSONValue) -> String? {
        let wanted = expectation
        switch value {
        case .null: return "is empty; give \(wanted)" + (defaultValue.map { " or leave it out for the default \($0.canonicalText)" } ?? "")
        case .string(let s) where s.isEmpty: return "is empty; give \(wanted) (\(help))"
        case .string(let s) where !choices.isEmpty && type != .strings:
            return choices.contains(s) ? nil : "must be \(wanted), found \"\(s)\""
        default: break
        }
        switch type {
        case .int, .number:
            guard let number = value.doubleValue, type == .number || value.intValue != nil else {
                return "must be \(wanted), found \(value.kindName) \(value.canonicalText)"
            }
            if let minimum, number < minimum { return "must be \(wanted), found \(value.canonicalText)" }
            if let maximum, number > maximum { return "must be \(wanted), found \(value.canonicalText)" }
        case .string, .path:
            if value.stringValue == nil { return "must be \(wanted), found \(value.kindName) \(value.canonicalText)" }
        case .bool:
            if value.boolValue == nil { return "must be \(wanted), found \(value.kindName) \(value.canonicalText)" }
        case .strings:
            let items = value.stringValue.map { [JSONValue.string($0)] } ?? value.arrayValue
            guard let items, items.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
                return "must be \(wanted), found \(value.kindName) \(value.canonicalText)"
            }
            if !choices.isEmpty, let bad = items.first(where: { !choices.contains($0.stringValue!) }) {
                return "must be \(wanted), found \(bad.canonicalText)"
            }
        case .ints:
            let items = value.intValue.map { _ in [value] } ?? value.arrayValue
            guard let items, !items.isEmpty, items.allSatisfy({ $0.intValue != nil }) else {
                return "must be \(wanted), found \(value.kindName) \(value.canonicalText)"
            }
        }
        return nil
    }

    /// What a valid value looks like, in words: "a whole number from 1 to 100000".
    public var expectation: String {
        func number(_ x: Double) -> String { x.rounded() == x && abs(x) < 1e15 ? String(Int64(x)) : String(x) }
        var text: String
        switch type {
        case .int: text = "a whole number"
        case .number: text = "a number"
        case .string: text = choices.isEmpty ? "a string" : "one of \(choices.joined(separator: ", "))"
        case .path: text = "a path to a file or folder"
        case .bool: text = "true or false"
        case .strings: text = choices.isEmpty ? "a list of strings" : "a list of \(choices.joined(separator: ", "))"
        case .ints: text = "a list of whole numbers"
        }
        if type == .int || type == .number {
            switch (minimum, maximum) {
            case let (low?, high?): text += " from \(number(low)) to \(number(high))"
            case let (low?, nil): text += " >= \(number(low))"
            case let (nil, high?): text += " <= \(number(high))"
            case (nil, nil): break
            }
            if !choices.isEmpty { text += " or one of \(choices.joined(separator: ", "))" }
        }
        return text
    }

    /// Whether `value` asks for what the default gives (2 and 2.0 alike), so that it can stay out of a key.
    public func isDefault(_ value: JSONValue) -> Bool {
        guard let defaultValue else { return false }
        if let a = value.doubleValue, let b = defaultValue.doubleValue { return a == b }
        return value == defaultValue
    }
}

extension ParamSpec {
    /// Every problem of `params` (a job's or a pipeline stage's) against `specs`, one line each: unknown
    /// names (with the closest declared one), empty, mistyped or out-of-range values, missing required ones.
    public static func problems(of params: [String: JSONValue], against specs: [ParamSpec]) -> [String] {
        let byName = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let names = specs.map(\.name)
        var out: [String] = []
        for name in params.keys.sorted() {
            guard let spec = byName[name] else {
                let hint = closest(to: name, among: names).map { "did you mean '\($0)'? " } ?? ""
                out.append("unknown param '\(name)'; \(hint)params: \(names.isEmpty ? "(none)" : names.joined(separator: ", "))")
                continue
            }
            if let problem = spec.problem(with: params[name]!) { out.append("param '\(name)' \(problem)") }
        }
        for spec in specs where spec.isRequired && params[spec.name] == nil {
            out.append("param '\(spec.name)' is required: \(spec.help)")
        }
        return out
    }

    /// Declared params as text for `--help` and `mammoflow params`, one per line: name, what it takes, default, help.
    public static func listing(_ params: [ParamSpec]) -> String {
        let width = params.map(\.name.count).max() ?? 0
        return params.map { spec in
            let name = spec.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let given = spec.defaultValue.map { "default \($0.canonicalText)" } ?? (spec.optional ? "optional" : "required")
            return "  \(name)  \(spec.expectation); \(given). \(spec.help)"
        }.joined(separator: "\n")
    }

    /// The declared name nearest to a misspelt one (at most a third of its letters off), if any.
    static func closest(to name: String, among names: [String]) -> String? {
        let scored = names.map { ($0, editDistance(name.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, name.count / 3) else { return nil }
        return best.0
    }

    /// Levenshtein distance.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}

/// What `STAGE --describe-params` prints: `{"contract": "mammoflow-stage-params-v1", "stage": ..., "params":
/// [{"name", "type", "default", "optional", "minimum", "maximum", "choices", "help"}, ...]}`. The contract string
/// also marks an executable that understands `--describe-params`: the scheduler asks only executables whose
/// bytes contain it, so a script that does not know the flag is never run with it.
public struct StageParamsDescription: Sendable, Equatable {
    public static let contract = "mammoflow-stage-params-v1"
    public var stage: String
    public var params: [ParamSpec]
    /// The stage copies unchanged records from the earlier artifact a job names in `reuse` (field
    /// `"reuse": "records"`; docs/stage-contract.md, "Record reuse"), so the scheduler names one.
    public var reusesRecords: Bool

    public init(stage: String, params: [ParamSpec], reusesRecords: Bool = false) {
        self.stage = stage
        self.params = params
        self.reusesRecords = reusesRecords
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "contract": .string(Self.contract),
            "stage": .string(stage),
            "params": .array(params.map { spec in
                var fields: [String: JSONValue] = ["name": .string(spec.name), "type": .string(spec.type.rawValue), "help": .string(spec.help)]
                if let d = spec.defaultValue { fields["default"] = d }
                if spec.optional { fields["optional"] = .bool(true) }
                if let m = spec.minimum { fields["minimum"] = .double(m) }
                if let m = spec.maximum { fields["maximum"] = .double(m) }
                if !spec.choices.isEmpty { fields["choices"] = .array(spec.choices.map { .string($0) }) }
                return .object(fields)
            }),
        ]
        if reusesRecords { fields["reuse"] = "records" }
        return .object(fields)
    }

    public init(json: JSONValue) throws {
        struct Malformed: Error, CustomStringConvertible { let description: String }
        guard json["contract"]?.stringValue == Self.contract else {
            throw Malformed(description: "not a \(Self.contract) description")
        }
        guard let stage = json["stage"]?.stringValue, let items = json["params"]?.arrayValue else {
            throw Malformed(description: "a params description needs \"stage\" and \"params\"")
        }
        self.stage = stage
        reusesRecords = json["reuse"]?.stringValue == "records"
        params = try items.map { item in
            guard let name = item["name"]?.stringValue, let type = item["type"]?.stringValue.flatMap(ParamSpec.Kind.init) else {
                throw Malformed(description: "a param needs a \"name\" and a \"type\" (\(ParamSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))): \(item.canonicalText)")
            }
            return ParamSpec(name, type, default: item["default"], optional: item["optional"]?.boolValue ?? false,
                             minimum: item["minimum"]?.doubleValue, maximum: item["maximum"]?.doubleValue,
                             choices: item["choices"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                             help: item["help"]?.stringValue ?? "")
        }
    }
}
