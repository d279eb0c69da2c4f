// The Pipeline library; see docs/architecture.md.
