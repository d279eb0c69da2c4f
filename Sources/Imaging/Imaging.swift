// The Imaging library; see docs/architecture.md.
