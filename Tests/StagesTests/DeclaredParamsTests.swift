import Foundation
import Shards
import Testing
@testable import Stages

private let declared = [
    ParamSpec("patients", .int, default: 200, minimum: 1, help: "how many patients"),
    ParamSpec("views", .strings, default: "all", help: "views"),
    ParamSpec("seed", .int, optional: true, help: "seed"),
]

private func job(_ params: JSONValue) -> StageJob {
    StageJob(stage: "synth", params: params, inputs: [:], output: NSTemporaryDirectory(), threads: 1)
}

@Test func aJobWithAMisspeltParamFailsBeforeTheStageStarts() {
    do {
        _ = try StageContext(job: job(["patient": 20]), declared: declared)
        Issue.record("a misspelt param must stop the stage")
    } catch let error as StageError {
        #expect(error.description == "stage synth: unknown param 'patient'; did you mean 'patients'? params: patients, views, seed")
    } catch {
        Issue.record("\(error)")
    }
}

@Test func declaredParamsReadTheirDefaultsWhenLeftOut() throws {
    let context = try StageContext(job: job(["seed": 3]), declared: declared)
    #expect(try context.params.int("patients") == 200)
    #expect(try context.params.strings("views") == ["all"])
    #expect(try context.params.optional("seed") == 3)
    let bare = try StageContext(job: job([:]), declared: declared)
    #expect(try bare.params.optional("seed") == nil)
    #expect(throws: StageError.self) { try bare.params.int("undeclared") }
}

@Test func aStageThatDeclaresNothingChecksNothing() throws {
    let context = try StageContext(job: job(["anything": "goes"]))
    #expect(try context.params.string("anything", default: "") == "goes")
}
