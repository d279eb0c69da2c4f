// The Synthesis library; see docs/architecture.md.
