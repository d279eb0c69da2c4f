// The Neural library; see docs/architecture.md.
