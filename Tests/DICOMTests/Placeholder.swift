import Testing
@testable import DICOM
