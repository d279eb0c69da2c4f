// The DICOM library; see docs/architecture.md.
