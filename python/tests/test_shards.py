"""mammoflow.shards against shards and values the Swift programs wrote (fixtures/make_fixtures.py)."""
import hashlib
import re
import shutil
import struct

import numpy as np
import pytest
import zstandard

from fixtures.make_fixtures import statistics
from mammoflow.shards import (CorruptRecordError, ImagePayloadError, ShardError, ShardReader, decode_image,
                              unshuffle)

MiB = 1 << 20


def test_packed_payloads_are_the_files_swift_packed(packed, expected):
    for path in packed.values():
        with ShardReader(path) as reader:
            assert reader.keys() == sorted(expected["packed"])
            for key, want in expected["packed"].items():
                payload = reader.payload(key)
                assert len(payload) == want["size"]
                assert hashlib.sha256(payload).hexdigest() == want["sha256"]


def test_shuffled_and_plain_shards_read_the_same(packed):
    with ShardReader(packed["plain"]) as plain, ShardReader(packed["shuffled"]) as shuffled:
        assert [e.element_size for e in plain.entries] == [1] * len(plain)
        assert [e.element_size for e in shuffled.entries] == [2] * len(shuffled)
        for a, b in zip(plain.entries, shuffled.entries):
            assert a.sha256 != b.sha256  # different stored bytes...
            assert plain.payload(a.key) == shuffled.payload(b.key)  # ...the same records


def test_shard_files_are_named_by_their_sha256(packed, expected):
    for label, path in packed.items():
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() + ".mgs" == expected[f"{label}.mgs"]


def test_a_large_record_is_stored_as_1_mib_parts(packed, expected):
    for path in packed.values():
        with ShardReader(path) as reader:
            entry = reader.entries[reader.position("large_12bit")]
            with open(path, "rb") as f:
                f.seek(entry.offset)
                stored = f.read(entry.frame_length)
            assert entry.raw_length > MiB
            assert zstandard.frame_content_size(stored) == MiB  # first of two parts
            image = reader.image("large_12bit")
            want = expected["packed"]["large_12bit"]
            assert image.pixels.dtype == np.uint16 and image.bits == 12
            assert hashlib.sha256(image.pixels.astype("<u2").tobytes()).hexdigest() == want["pixels_sha256"]


def test_metadata_is_what_pack_wrote(packed, expected):
    with ShardReader(packed["shuffled"]) as reader:
        assert reader.metadata() == [{"file": key, "key": key} for key in sorted(expected["packed"])]
        records = list(reader.records())
        assert [key for key, _, _ in records] == reader.keys()
        assert [hashlib.sha256(p).hexdigest() for _, _, p in records] == \
            [expected["packed"][k]["sha256"] for k in reader.keys()]


def test_images_decode_to_the_pixel_statistics_swift_computed(packed, expected):
    with ShardReader(packed["shuffled"]) as reader:
        for key, want in expected["packed"].items():
            image = reader.image(key)
            assert image.pixels.dtype == (np.uint8 if want["pixels"]["bits"] <= 8 else np.uint16)
            assert image.pixels.shape == (want["pixels"]["height"], want["pixels"]["width"])
            assert statistics(image.pixels, image.bits) == want["pixels"]
    assert {v["pixels"]["bits"] <= 8 for v in expected["packed"].values()} == {True, False}


def flip_byte(source, target, key, where=0.5):
    """Copies a shard and flips one bit of a byte inside `key`'s stored frames."""
    shutil.copyfile(source, target)
    with ShardReader(target) as reader:
        entry = reader.entries[reader.position(key)]
    position = entry.offset + int(entry.frame_length * where)
    with open(target, "r+b") as f:
        f.seek(position)
        byte = f.read(1)[0]
        f.seek(position)
        f.write(bytes([byte ^ 0x10]))


@pytest.mark.parametrize("label", ["plain", "shuffled"])
@pytest.mark.parametrize("key,where", [("large_12bit", 0.2), ("large_12bit", 0.9)])
def test_a_flipped_byte_names_the_file_and_record(packed, expected, tmp_path, label, key, where):
    damaged = str(tmp_path / "damaged.mgs")
    flip_byte(packed[label], damaged, key, where)
    with ShardReader(damaged) as reader:
        with pytest.raises(CorruptRecordError) as caught:
            reader.payload(key)
        assert caught.value.path == damaged and caught.value.key == key
        assert damaged in str(caught.value) and f'"{key}"' in str(caught.value) and "SHA-256" in str(caught.value)
        # Unverified, zstd's content checksum (or the frame structure) still catches it.
        with pytest.raises(CorruptRecordError, match=key):
            reader.payload(key, verify=False)
        for other in reader.keys():
            if other != key:
                assert hashlib.sha256(reader.payload(other)).hexdigest() == expected["packed"][other]["sha256"]


def test_every_small_record_detects_a_flipped_byte(packed, expected, tmp_path):
    for i, key in enumerate(sorted(expected["packed"])):
        damaged = str(tmp_path / f"{i}.mgs")
        flip_byte(packed["shuffled"], damaged, key)
        with ShardReader(damaged) as reader, pytest.raises(CorruptRecordError, match="SHA-256 mismatch"):
            reader.image(key)


def rewrite_footer(source, target, **fields):
    """Copies a shard with some footer fields replaced (names as in docs/shard-format.md)."""
    data = bytearray(open(source, "rb").read())
    names = ["magic", "version", "flags", "count", "metadata_offset", "metadata_length", "metadata_raw",
             "index_offset", "index_length"]
    layout = "<8sIIQQQQQQ"
    values = dict(zip(names, struct.unpack_from(layout, data, len(data) - 64)))
    values.update(fields)
    struct.pack_into(layout, data, len(data) - 64, *[values[n] for n in names])
    open(target, "wb").write(bytes(data))


@pytest.mark.parametrize("fields,message", [
    ({"magic": b"NOTSHARD"}, "bad magic"),
    ({"version": 2}, "version 2; this reader knows 3 (rerun the stage that wrote it)"),
    ({"index_length": 10}, "corrupt footer"),
    ({"metadata_offset": 0}, "corrupt footer"),
    ({"count": 10 ** 6}, "corrupt footer"),
])
def test_a_bad_footer_is_refused_with_the_reason(packed, tmp_path, fields, message):
    damaged = str(tmp_path / "bad.mgs")
    rewrite_footer(packed["plain"], damaged, **fields)
    with pytest.raises(ShardError, match=re.escape(message)) as caught:
        ShardReader(damaged)
    assert caught.value.path == damaged


def test_a_file_shorter_than_the_footer_is_not_a_shard(tmp_path):
    short = tmp_path / "short.mgs"
    short.write_bytes(b"MFSHARD\0")
    with pytest.raises(ShardError, match="shorter than the footer"):
        ShardReader(short)


def test_an_unknown_key_is_a_key_error_naming_the_file(packed):
    with ShardReader(packed["plain"]) as reader, pytest.raises(KeyError, match="plain.mgs: no record"):
        reader.payload("nothing")


def test_unshuffle_follows_the_spec_formula():
    rng = np.random.default_rng(3)
    for k in (2, 3, 4, 7):
        for length in (0, 1, k - 1, k, 5 * k + k - 1, 64):
            content = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
            m = length // k
            out = bytearray(content)
            for e in range(m):
                for b in range(k):
                    out[e * k + b] = content[b * m + e]
            assert unshuffle(content, k) == bytes(out)
    assert unshuffle(b"abc", 1) == b"abc"


def image_payload(width, height, bits, filter_kind, stored):
    bps = 1 if bits <= 8 else 2
    header = b"MFI1" + struct.pack("<IIBBH", width, height, bps, filter_kind, bits)
    return header + np.asarray(stored, dtype="<u2" if bps == 2 else np.uint8).tobytes()


def test_the_difference_filter_wraps_and_keeps_the_low_bits():
    # 8-bit: 10 after 250 is stored as (10 - 250) mod 256 = 16; each row starts from 0.
    image = decode_image(image_payload(3, 2, 8, 1, [[250, 16, 5], [7, 1, 255]]))
    assert image.pixels.dtype == np.uint8 and image.bits == 8
    assert image.pixels.tolist() == [[250, 10, 15], [7, 8, 7]]
    # 12 bits in 2 bytes: sums wrap modulo 2^16, then only the low 12 bits are kept.
    image = decode_image(image_payload(2, 1, 12, 1, [[0xFFFF, 0x1002]]))
    assert image.pixels.dtype == np.uint16 and image.pixels.tolist() == [[0xFFF, 0x001]]
    image = decode_image(image_payload(2, 1, 16, 0, [[0xFFFF, 0x1002]]))
    assert image.pixels.tolist() == [[0xFFFF, 0x1002]]


@pytest.mark.parametrize("payload,message", [
    (b"MFI2" + bytes(12), "missing MFI1 header"),
    (image_payload(2, 2, 12, 0, [1, 2, 3, 4])[:-1], "2x2 at 2 bytes per sample does not match 7 bytes"),
    (image_payload(2, 2, 8, 2, [1, 2, 3, 4]), "filter 2"),
    (b"MFI1" + struct.pack("<IIBBH", 1, 1, 1, 0, 12) + b"\0", "1 bytes, 12 bits"),
])
def test_a_bad_image_payload_says_why(payload, message):
    with pytest.raises(ImagePayloadError, match=message):
        decode_image(payload)

