import Testing
@testable import Shards

private let synth = [
    ParamSpec("patients", .int, default: 200, minimum: 1, help: "how many patients"),
    ParamSpec("scale", .number, default: 1, minimum: 0.02, maximum: 2, help: "image size"),
    ParamSpec("values", .string, default: "window16", choices: ["window16", "window8"], help: "sample values"),
    ParamSpec("fill", .int, default: "background", minimum: 0, maximum: 65535, choices: ["background"], help: "fill"),
    ParamSpec("views", .strings, default: ["MLO"], help: "views"),
    ParamSpec("seed", .int, optional: true, help: "seed"),
    ParamSpec("path", .string, help: "the dataset folder"),
]

@Test func aMisspeltParamIsNamedWithTheClosestDeclaredOne() {
    let problems = ParamSpec.problems(of: ["patient": 20, "path": "/d"], against: synth)
    #expect(problems == ["unknown param 'patient'; did you mean 'patients'? params: patients, scale, values, fill, views, seed, path"])
    #expect(ParamSpec.problems(of: ["zzzzzzzz": 1, "path": "/d"], against: synth)[0].hasPrefix("unknown param 'zzzzzzzz'; params: "))
}

@Test func emptyMistypedAndOutOfRangeValuesAreProblems() {
    func problem(_ name: String, _ value: JSONValue) -> String? {
        var params: [String: JSONValue] = ["path": "/d"]
        params[name] = value
        return ParamSpec.problems(of: params, against: synth).first
    }
    #expect(problem("patients", .null) == "param 'patients' is empty; give a whole number >= 1 or leave it out for the default 200")
    #expect(problem("path", "") == "param 'path' is empty; give a string (the dataset folder)")
    #expect(problem("patients", 2.5) == "param 'patients' must be a whole number >= 1, found a number 2.5")
    #expect(problem("patients", 0) == "param 'patients' must be a whole number >= 1, found 0")
    #expect(problem("patients", "many") == "param 'patients' must be a whole number >= 1, found a string \"many\"")
    #expect(problem("scale", 3) == "param 'scale' must be a number from 0.02 to 2, found 3")
    #expect(problem("values", "window12") == "param 'values' must be one of window16, window8, found \"window12\"")
    #expect(problem("fill", 70000) != nil && problem("fill", "white") != nil)
    #expect(problem("views", [1]) != nil)
    #expect(ParamSpec.problems(of: [:], against: synth) == ["param 'path' is required: the dataset folder"])
}

@Test func validValuesPass() {
    let good: [String: JSONValue] = ["patients": 20, "scale": 0.25, "values": "window8", "fill": 4095, "views": "CC", "seed": 3, "path": "/d"]
    #expect(ParamSpec.problems(of: good, against: synth).isEmpty)
    #expect(ParamSpec.problems(of: ["fill": "background", "views": ["CC", "MLO"], "patients": 2.0, "path": "/d"], against: synth).isEmpty)
}

@Test func aDefaultIsRecognisedWhateverItsNumberForm() {
    #expect(synth[0].isDefault(200) && synth[0].isDefault(200.0) && !synth[0].isDefault(201))
    #expect(synth[2].isDefault("window16") && synth[4].isDefault(["MLO"]))
    #expect(!synth[5].isDefault(7), "an optional param without a default has no value that equals it")
}

@Test func aDescriptionRoundTripsThroughJSON() throws {
    let description = StageParamsDescription(stage: "synth", params: synth)
    let parsed = try StageParamsDescription(json: JSONValue.parse(description.json.canonicalText))
    #expect(parsed == description)
    #expect(throws: (any Error).self) { try StageParamsDescription(json: ["stage": "x", "params": []]) }
}
