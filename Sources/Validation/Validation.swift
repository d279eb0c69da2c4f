// The Validation library; see docs/architecture.md.
