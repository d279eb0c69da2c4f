import Testing
@testable import Synthesis
