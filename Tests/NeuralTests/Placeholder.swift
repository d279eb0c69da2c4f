import Testing
@testable import Neural
