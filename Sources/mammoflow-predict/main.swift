import Stages
runStage("predict") { context in throw StageError(stage: context.stage, reason: "not built yet") }
