import Stages
runStage("train") { context in throw StageError(stage: context.stage, reason: "not built yet") }
