"""Reading mammoflow shard files (docs/shard-format.md, version 3) and image payloads.

A shard holds records in key order, each its own zstd frame (or 1 MiB parts of a larger record), then a
metadata frame of JSON lines, an index with each record's place, element size and SHA-256, and a 64-byte
footer. ``ShardReader`` reads the footer and index on open and one record's bytes per read, so a record is
read by key without touching the others.
"""
from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import sys
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np
import zstandard

__all__ = [
    "FORMAT_VERSION", "ShardError", "CorruptRecordError", "ImagePayloadError", "IndexEntry", "Image",
    "ShardReader", "unshuffle", "decode_image",
]

MAGIC = b"MFSHARD\0"
FORMAT_VERSION = 3
FOOTER = struct.Struct("<8sIIQQQQQQ")  # magic, version, flags, count, metadata offset/length/raw, index offset/length
INDEX_ENTRY_FIXED = 59  # bytes of an index entry besides its key
IMAGE_MAGIC = b"MFI1"
IMAGE_HEADER = struct.Struct("<4sIIBBH")  # magic, width, height, bytes per sample, filter, bits


class ShardError(Exception):
    """A shard that cannot be read: names the file, and the record when one is at fault."""

    def __init__(self, path: str, reason: str, key: str | None = None):
        self.path = path
        self.key = key
        self.reason = reason
        where = f'{path}: record "{key}"' if key is not None else path
        super().__init__(f"{where}: {reason}")


class CorruptRecordError(ShardError):
    """A record whose stored bytes do not match its SHA-256 or do not decode: the file changed on disk."""


class ImagePayloadError(ValueError):
    """A payload that is not an image payload (ImagePayload of Sources/Shards/Format/ImagePayload.swift)."""


@dataclass(frozen=True)
class IndexEntry:
    """One record's place in a shard."""
    key: str
    offset: int
    frame_length: int
    raw_length: int
    # 1: stored as it is; k > 1: each frame's content was byte-shuffled by k before compression.
    element_size: int
    # SHA-256 of the record's stored frame bytes.
    sha256: bytes


class Image(NamedTuple):
    """A decoded image payload: samples as an (H, W) array (uint8 when bits <= 8, else uint16)."""
    pixels: np.ndarray
    bits: int


def unshuffle(content: bytes, element_size: int) -> bytes:
    """Undoes the byte shuffle of one frame's content: byte b of element e is stored at b * m + e."""
    k = element_size
    if k <= 1:
        return bytes(content)
    m = len(content) // k
    planes = np.frombuffer(content, dtype=np.uint8, count=m * k).reshape(k, m)
    return planes.T.tobytes() + bytes(content[m * k:])


def decode_image(payload: bytes) -> Image:
    """Decodes an image payload: 16-byte header, then row-major little-endian samples, left-differenced
    modulo 2^(8 * bytes per sample) when the filter is 1; values keep their low ``bits`` bits."""
    if len(payload) < IMAGE_HEADER.size or payload[:4] != IMAGE_MAGIC:
        raise ImagePayloadError("bad image payload: missing MFI1 header")
    _, width, height, bytes_per_sample, filter_kind, bits = IMAGE_HEADER.unpack_from(payload)
    if not 1 <= bits <= 16 or bytes_per_sample != (1 if bits <= 8 else 2) or filter_kind > 1:
        raise ImagePayloadError(f"bad image payload: unsupported sample layout "
                                f"({bytes_per_sample} bytes, {bits} bits, filter {filter_kind})")
    body = len(payload) - IMAGE_HEADER.size
    if width == 0 or height == 0 or body != width * height * bytes_per_sample:
        raise ImagePayloadError(f"bad image payload: {width}x{height} at {bytes_per_sample} bytes per sample "
                                f"does not match {body} bytes")
    dtype = np.dtype("<u2") if bytes_per_sample == 2 else np.dtype(np.uint8)
    stored = np.frombuffer(payload, dtype=dtype, offset=IMAGE_HEADER.size).reshape(height, width)
    native = dtype.newbyteorder("=")
    # Unsigned cumulative sums wrap modulo 2^(8 * bytes per sample), which is the filter's arithmetic.
    samples = np.cumsum(stored, axis=1, dtype=native) if filter_kind == 1 else stored.astype(native)
    if bits < 8 * bytes_per_sample:
        samples &= native.type((1 << bits) - 1)
    return Image(samples, bits)


_NO_FD = {"trackfd": False} if sys.version_info >= (3, 13) else {}


class ShardReader:
    """Random access to a shard's records. Opening reads the footer and index; each read maps in one record.

    ``verify`` (default on) checks each record's stored bytes against the SHA-256 in the index before
    decoding; zstd checks each frame's content checksum in any case.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < FOOTER.size:
                raise ShardError(self.path, f"not a shard: {size} bytes, shorter than the footer")
            # From Python 3.13 the map keeps no descriptor of its own; before, each open reader holds one.
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ, **_NO_FD)
        magic, version, _flags, count, meta_offset, meta_length, meta_raw, index_offset, index_length = \
            FOOTER.unpack_from(self._map, size - FOOTER.size)
        if magic != MAGIC:
            raise ShardError(self.path, "not a shard: bad magic in the footer")
        if version != FORMAT_VERSION:
            hint = " (rerun the stage that wrote it)" if version < FORMAT_VERSION else ""
            raise ShardError(self.path, f"shard format version {version}; this reader knows {FORMAT_VERSION}{hint}")
        body_end = size - FOOTER.size
        if (index_offset + index_length != body_end or meta_offset + meta_length != index_offset
                or count > index_length // INDEX_ENTRY_FIXED):
            raise ShardError(self.path, "corrupt footer: offsets do not fit the file")
        self._meta_offset, self._meta_length, self._meta_raw = meta_offset, meta_length, meta_raw
        self.entries = self._read_index(index_offset, index_length, count)
        self._positions = {e.key: i for i, e in enumerate(self.entries)}
        self._decompressor = zstandard.ZstdDecompressor()

    def _read_index(self, offset: int, length: int, count: int) -> list[IndexEntry]:
        index = self._map[offset:offset + length]
        entries, pos, previous = [], 0, None
        for i in range(count):
            if pos + 2 > len(index):
                raise ShardError(self.path, f"corrupt index: ends inside entry {i}")
            (key_length,) = struct.unpack_from("<H", index, pos)
            if pos + key_length + INDEX_ENTRY_FIXED > len(index):
                raise ShardError(self.path, f"corrupt index: ends inside entry {i}")
            key_bytes = index[pos + 2:pos + 2 + key_length]
            key = key_bytes.decode("utf-8", errors="replace")
            pos += 2 + key_length
            frame_offset, frame_length, raw_length, element_size = struct.unpack_from("<QQQB", index, pos)
            sha256 = index[pos + 25:pos + 57]
            pos += 57
            if frame_offset + frame_length > self._meta_offset:
                raise ShardError(self.path, "corrupt index: record points outside the record area", key)
            if element_size == 0:
                raise ShardError(self.path, "corrupt index: element size 0", key)
            if previous is not None and not previous < key_bytes:
                raise ShardError(self.path, "corrupt index: keys are not strictly ascending", key)
            previous = key_bytes
            entries.append(IndexEntry(key, frame_offset, frame_length, raw_length, element_size, sha256))
        return entries

    def close(self) -> None:
        self._map.close()

    def __enter__(self) -> "ShardReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: str) -> bool:
        return key in self._positions

    def keys(self) -> list[str]:
        """Record keys, in the shard's (ascending) order."""
        return [e.key for e in self.entries]

    def position(self, key: str) -> int:
        """The record's position in the shard; KeyError naming the file when it has no such record."""
        try:
            return self._positions[key]
        except KeyError:
            raise KeyError(f'{self.path}: no record "{key}"') from None

    def payload(self, key: str | int, verify: bool = True) -> bytes:
        """A record's payload, by key or position: its frames checked (``verify``), decoded and unshuffled."""
        entry = self.entries[key if isinstance(key, int) else self.position(key)]
        stored = self._map[entry.offset:entry.offset + entry.frame_length]
        if verify and hashlib.sha256(stored).digest() != entry.sha256:
            raise CorruptRecordError(self.path, "SHA-256 mismatch, the record is corrupt", entry.key)
        try:
            return self._decode_frames(stored, entry)
        except zstandard.ZstdError as error:
            raise CorruptRecordError(self.path, f"zstd: {error}", entry.key) from None

    def _decode_frames(self, stored: bytes, entry: IndexEntry) -> bytes:
        """One zstd frame, or consecutive frames of 1 MiB content each: every frame must declare its content
        size, and together they must hold exactly the index's raw length."""
        parts, produced, rest = [], 0, stored
        while True:
            declared = zstandard.frame_content_size(rest)
            if declared < 0:
                raise CorruptRecordError(self.path, f"frame at byte {len(stored) - len(rest)} does not declare "
                                         "its content size", entry.key)
            if declared > entry.raw_length - produced:
                raise CorruptRecordError(self.path, f"frames declare more than the {entry.raw_length} bytes "
                                         "the index says", entry.key)
            frame = self._decompressor.decompressobj()
            content = frame.decompress(rest)
            if not frame.eof or len(content) != declared:
                raise CorruptRecordError(self.path, f"frame at byte {len(stored) - len(rest)} is truncated",
                                         entry.key)
            parts.append(unshuffle(content, entry.element_size))
            produced += declared
            rest = frame.unused_data
            if not rest:
                break
        if produced != entry.raw_length:
            raise CorruptRecordError(self.path, f"frames hold {produced} bytes, index says {entry.raw_length}",
                                     entry.key)
        return b"".join(parts)

    def image(self, key: str | int, verify: bool = True) -> Image:
        """A record's payload decoded as an image payload."""
        payload = self.payload(key, verify)
        try:
            return decode_image(payload)
        except ImagePayloadError as error:
            name = key if isinstance(key, str) else self.entries[key].key
            raise ShardError(self.path, str(error), name) from None

    def metadata(self) -> list[dict]:
        """Every record's metadata, in key order: one JSON object each, with its "key"."""
        frame = self._map[self._meta_offset:self._meta_offset + self._meta_length]
        try:
            text = self._decompressor.decompress(frame, max_output_size=self._meta_raw)
        except zstandard.ZstdError as error:
            raise ShardError(self.path, f"metadata: zstd: {error}") from None
        if len(text) != self._meta_raw:
            raise ShardError(self.path, f"metadata holds {len(text)} bytes, footer says {self._meta_raw}")
        lines = text.split(b"\n")
        if lines.pop() != b"" or len(lines) != len(self.entries):
            raise ShardError(self.path, f"metadata has {len(lines)} lines for {len(self.entries)} records")
        result = []
        for line, entry in zip(lines, self.entries):
            try:
                fields = json.loads(line)
            except ValueError as error:
                raise ShardError(self.path, f"metadata line {len(result) + 1}: {error}") from None
            if not isinstance(fields, dict) or fields.get("key") != entry.key:
                raise ShardError(self.path, f"metadata line {len(result) + 1} is not the object of its record",
                                 entry.key)
            result.append(fields)
        return result

    def records(self, verify: bool = True) -> Iterator[tuple[str, dict, bytes]]:
        """(key, metadata, payload) of every record, in key order."""
        for i, fields in enumerate(self.metadata()):
            yield self.entries[i].key, fields, self.payload(i, verify)
