"""Images for tests: PNGs of any size in a few kilobytes, written without holding their pixels."""

from __future__ import annotations

import functools
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_END = _chunk(b"IEND", b"")


@functools.lru_cache(maxsize=8)
def huge_png(width: int, height: int, colour: tuple[int, ...] = (0, 0, 0)) -> bytes:
    """An 8-bit PNG of one colour, RGB or RGBA: 13,000 x 13,000 RGB pixels take about 500 KB."""
    row = b"\0" + bytes(colour) * width  # Filter type 0, then the pixels.
    rows_per_block = max(1, 2**20 // len(row))
    blocks, rest = divmod(height, rows_per_block)
    block = row * rows_per_block
    # Compressed up to a full flush, a block is self-contained: the same bytes
    # stand for every copy of it, and only the checksum sees them all.
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    compressed_block = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    compressed_rest = compressor.compress(row * rest) + compressor.flush()
    checksum = 1
    for _ in range(blocks):
        checksum = zlib.adler32(block, checksum)
    checksum = zlib.adler32(row * rest, checksum)
    stream = b"\x78\x9c" + compressed_block * blocks + compressed_rest + struct.pack(">I", checksum)
    return _signature_and_header(width, height, len(colour)) + _chunk(b"IDAT", stream) + _END


def png_header(width: int, height: int) -> bytes:
    """A PNG without pixel data: enough for its size to be read, not to be decoded."""
    return _signature_and_header(width, height, 3) + _END


def _signature_and_header(width: int, height: int, channels: int) -> bytes:
    colour_type = {3: 2, 4: 6}[channels]  # RGB or RGBA
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)


def openexr(width: int, height: int, *, lines_per_chunk: int = 1) -> bytes:
    """A whole single-part scan-line OpenEXR file: one HALF channel "Y", uncompressed
    (lines_per_chunk 1) or labelled ZIP (16 lines a chunk, the data left raw: the
    structure is what the checks read)."""

    def attribute(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    compression = {1: 0, 16: 3}[lines_per_chunk]
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    header = b"".join(
        [
            b"\x76\x2f\x31\x01" + struct.pack("<I", 2),
            attribute("channels", "chlist", b"Y\0" + struct.pack("<iB3xii", 1, 0, 1, 1) + b"\0"),
            attribute("compression", "compression", bytes([compression])),
            attribute("dataWindow", "box2i", window),
            attribute("displayWindow", "box2i", window),
            attribute("lineOrder", "lineOrder", b"\0"),
            attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
            attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0, 0)),
            attribute("screenWindowWidth", "float", struct.pack("<f", 1.0)),
            b"\0",
        ]
    )
    chunk_count = -(-height // lines_per_chunk)
    chunks = []
    for number in range(chunk_count):
        lines = min(lines_per_chunk, height - number * lines_per_chunk)
        data = b"\0\x3c" * width * lines  # 1.0 in half floats
        chunks.append(struct.pack("<ii", number * lines_per_chunk, len(data)) + data)
    offsets = []
    position = len(header) + 8 * chunk_count
    for chunk in chunks:
        offsets.append(position)
        position += len(chunk)
    return header + struct.pack(f"<{chunk_count}Q", *offsets) + b"".join(chunks)
