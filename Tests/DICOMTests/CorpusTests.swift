import Foundation
import Shards
import Testing
@testable import DICOM

/// Every file of the corpus against pydicom's values (expected.tsv, probes.tsv).
@Suite struct CorpusTests {
    @Test func fixturesArePresent() {
        #expect(Corpus.expectations.count > 100)
        #expect(Corpus.probes.count > 5000)
        let missing = Corpus.expectations.map(\.file).filter { Corpus.path($0) == nil }
        if !missing.isEmpty {
            print("NOT CHECKED (not in Tests/Fixtures and no ../shared/dicom): \(missing.joined(separator: ", "))")
        }
        #expect(missing.count <= 7, "only the 7 files over 2 MB may be missing")
    }

    @Test func okFilesMatchStoredValuesBitForBit() throws {
        for e in Corpus.expectations where e.outcome == "ok" {
            guard let path = Corpus.path(e.file) else { continue }
            do {
                let file = try DICOMFile(path: path)
                #expect(file.transferSyntax.uid == e.transferSyntax, "\(e.file)")
                let pixels = try file.decodeFrame()
                #expect(pixels.rows == e.rows && pixels.columns == e.columns, "\(e.file): \(pixels.columns)x\(pixels.rows)")
                #expect(pixels.type.rawValue == e.storedType, "\(e.file): type \(pixels.type)")
                #expect(Digest.sha256Hex(pixels.littleEndianBytes()) == e.sha256, "\(e.file): stored values differ")
                #expect(try file.header().photometric == e.photometric, "\(e.file)")
            } catch {
                Issue.record("\(e.file) should decode: \(error)")
            }
        }
    }

    @Test func probesMatchStoredAndDisplayValues() throws {
        let byFile = Dictionary(grouping: Corpus.probes, by: \.file)
        let ok = Set(Corpus.expectations.filter { $0.outcome == "ok" }.map(\.file))
        for (name, probes) in byFile.sorted(by: { $0.key < $1.key }) where ok.contains(name) {
            guard let path = Corpus.path(name) else { continue }
            let file = try DICOMFile(path: path)
            let pixels = try file.decodeFrame()
            let semantics = PixelSemantics(header: try file.header())
            for p in probes {
                let stored = pixels.value(x: p.x, y: p.y)
                #expect(stored == p.stored, "\(name) (\(p.x),\(p.y)) stored")
                if let expected = p.display {
                    let display = semantics.display(stored: stored)
                    #expect(abs(display - expected) <= 1e-3, "\(name) (\(p.x),\(p.y)) display \(display) expected \(expected)")
                }
            }
        }
    }

    @Test func corruptFilesAreRefusedWithAClearError() {
        for e in Corpus.expectations where e.outcome == "error" {
            guard let path = Corpus.path(e.file) else { continue }
            do {
                _ = try DICOMFile(path: path).decodeFrame()
                Issue.record("\(e.file) is corrupt but decoded")
            } catch let error as DICOMError {
                #expect(error.file == path && !error.reason.isEmpty)
            } catch {
                Issue.record("\(e.file): not a DICOMError: \(error)")
            }
        }
    }

    @Test func outOfScopeFilesDecodeOrAreRefused() {
        for e in Corpus.expectations where e.outcome == "any" || e.outcome == "ok-or-refuse" {
            guard let path = Corpus.path(e.file) else { continue }
            do {
                let pixels = try DICOMFile(path: path).decodeFrame()
                if e.outcome == "ok-or-refuse" {
                    #expect(Digest.sha256Hex(pixels.littleEndianBytes()) == e.sha256, "\(e.file) decoded but differs")
                }
            } catch let error as DICOMError {
                if e.outcome == "ok-or-refuse" {
                    #expect(error.kind == .unsupported && error.reason.contains(e.transferSyntax), "\(e.file): \(error)")
                }
            } catch {
                Issue.record("\(e.file): not a DICOMError: \(error)")
            }
        }
    }
}
