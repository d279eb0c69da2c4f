#!/usr/bin/env python3
"""An independent PNG reference for mammoflow's Imaging tests, standard library only (zlib, struct).

    png_reference.py read FILE    prints {"width", "height", "depth", "color", "chunks", "sbit", "samples"} as JSON:
                                  samples row-major after undoing the five PNG filters (16-bit read big-endian)
    png_reference.py write DIR    writes the decoder fixtures gray16.png (filters 0-4 cycling per row, sBIT 12)
                                  and rgb8.png, whose samples follow pattern() below

Non-interlaced images of bit depth 8 or 16 only: that is what mammoflow writes.
"""
import json
import struct
import sys
import zlib


def pattern(x, y, c, depth):
    """The fixtures' sample at column x, row y, channel c: varied enough that every filter matters."""
    return ((x * 2654435761) ^ (y * 40503) ^ (c * 977) ^ (x * y)) % (1 << depth)


def chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind}"
        yield kind.decode("ascii"), body
        pos += 12 + length


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read(path):
    data = open(path, "rb").read()
    names, idat, sbit = [], b"", None
    for kind, body in chunks(data):
        names.append(kind)
        if kind == "IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == "IDAT":
            idat += body
        elif kind == "sBIT":
            sbit = list(body)
    assert interlace == 0 and depth in (8, 16) and color in (0, 2)
    channels = 1 if color == 0 else 3
    bpp = channels * depth // 8
    stride = width * bpp
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    samples = []
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]) & 0xFF
        previous = row
        if depth == 16:
            samples += [row[i] << 8 | row[i + 1] for i in range(0, stride, 2)]
        else:
            samples += list(row)
    return {"width": width, "height": height, "depth": depth, "color": color, "chunks": names, "sbit": sbit,
            "samples": samples}


def encode(width, height, depth, channels, rows, sbit=None):
    """A PNG whose row y uses filter y % 5, so a decoder must undo all five."""
    bpp = channels * depth // 8
    previous = bytearray(width * bpp)
    out = b""
    for y, values in enumerate(rows):
        row = bytearray()
        for v in values:
            row += struct.pack(">H", v) if depth == 16 else bytes([v])
        kind = y % 5
        filtered = bytearray()
        for i in range(len(row)):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            filtered.append((row[i] - [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]) & 0xFF)
        out += bytes([kind]) + filtered
        previous = row

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    color = 0 if channels == 1 else 2
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))
    if sbit:
        png += chunk(b"sBIT", bytes([sbit] * channels))
    return png + chunk(b"IDAT", zlib.compress(out, 9)) + chunk(b"IEND", b"")


def write(directory):
    for name, width, height, depth, channels in (("gray16", 23, 11, 16, 1), ("rgb8", 13, 7, 8, 3)):
        rows = [[pattern(x, y, c, depth) for x in range(width) for c in range(channels)] for y in range(height)]
        with open(f"{directory}/{name}.png", "wb") as f:
            f.write(encode(width, height, depth, channels, rows, sbit=12 if depth == 16 else None))


if __name__ == "__main__":
    if sys.argv[1] == "read":
        print(json.dumps(read(sys.argv[2])))
    else:
        write(sys.argv[2])
