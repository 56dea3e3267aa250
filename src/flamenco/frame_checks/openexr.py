"""Whether an OpenEXR file is whole: its headers, and the chunks its offset tables point at, fit.

Pillow does not read OpenEXR. OpenEXR writes the offset tables last, when it
closes the file, so a file cut short, or one whose writer died, has offsets
that point past its end, or are still zero.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = b"\x76\x2f\x31\x01"
_TILED = 0x200
_LONG_NAMES = 0x400
_NON_IMAGE = 0x800
_MULTIPART = 0x1000
# Scan lines per chunk, by compression (OpenEXR's ImfCompression.h).
_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}
_MAX_HEADER_BYTES = 16 * 1024 * 1024
_MAX_CHUNKS = 1 << 24


class OpenEXRBroken(Exception):
    """The file is not a whole OpenEXR file; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class _Part:
    chunk_count: int | None
    tiled: bool
    deep: bool


def check(file: BinaryIO, size: int) -> None:
    """Raise OpenEXRBroken unless the file of `size` bytes is a whole OpenEXR file."""
    head = file.read(8)
    if len(head) < 8 or head[:4] != MAGIC:
        raise OpenEXRBroken("no OpenEXR header")
    flags = struct.unpack("<I", head[4:])[0]
    multipart = bool(flags & _MULTIPART)
    reader = _Reader(file, size)
    parts = []
    while True:
        attributes = reader.header()
        if attributes is None:  # the empty header that ends a multi-part file's headers
            break
        parts.append(_part(attributes, tiled=bool(flags & _TILED), deep=bool(flags & _NON_IMAGE)))
        if not multipart:
            break
    if not parts:
        raise OpenEXRBroken("no parts in the file")
    tables = []
    for part in parts:
        if part.chunk_count is None:
            return  # a tiled image with levels and no chunk count: the header is all we check
        tables.append(reader.offsets(part.chunk_count))
    table_end = file.tell()
    for number, (part, table) in enumerate(zip(parts, tables, strict=True)):
        where = f"part {number}: " if multipart else ""
        for offset in table:
            if offset < table_end or offset >= size:
                raise OpenEXRBroken(
                    f"{where}chunk offset {offset} lies outside the data ({table_end}..{size})"
                )
        _check_chunk_end(file, size, max(table), multipart=multipart, part=part, where=where)


def _check_chunk_end(
    file: BinaryIO, size: int, offset: int, *, multipart: bool, part: _Part, where: str
) -> None:
    """The part's chunk that starts last must end inside the file."""
    file.seek(offset)
    prefix = 4 if multipart else 0  # the part number
    # Before the data: y (scan lines) or four tile coordinates (tiles); deep
    # chunks then have two 64-bit sizes, others one 32-bit size.
    coordinates = 16 if part.tiled else 4
    if part.deep:
        raw = file.read(prefix + coordinates + 24)
        if len(raw) < prefix + coordinates + 24:
            raise OpenEXRBroken(f"{where}the chunk at {offset} is cut off")
        table_size, packed_size = struct.unpack_from("<QQ", raw, prefix + coordinates)
        end = offset + len(raw) + table_size + packed_size
    else:
        raw = file.read(prefix + coordinates + 4)
        if len(raw) < prefix + coordinates + 4:
            raise OpenEXRBroken(f"{where}the chunk at {offset} is cut off")
        data_size = struct.unpack_from("<i", raw, prefix + coordinates)[0]
        if data_size < 0:
            raise OpenEXRBroken(f"{where}the chunk at {offset} has a negative size")
        end = offset + len(raw) + data_size
    if end > size:
        raise OpenEXRBroken(
            f"{where}the last chunk (at {offset}) ends at {end}, past the end of the file ({size})"
        )


def _part(attributes: dict[str, tuple[str, bytes]], *, tiled: bool, deep: bool) -> _Part:
    part_type = attributes.get("type")
    if part_type is not None:
        kind = part_type[1].rstrip(b"\0")
        tiled = kind in (b"tiledimage", b"deeptile")
        deep = kind.startswith(b"deep")
    chunk_count = attributes.get("chunkCount")
    if chunk_count is not None:
        return _Part(_int(chunk_count[1]), tiled, deep)
    window = attributes.get("dataWindow")
    if window is None or len(window[1]) != 16:
        raise OpenEXRBroken("the header has no dataWindow")
    x_min, y_min, x_max, y_max = struct.unpack("<4i", window[1])
    width, height = x_max - x_min + 1, y_max - y_min + 1
    if width <= 0 or height <= 0:
        raise OpenEXRBroken("the data window is empty")
    if tiled:
        tiles = attributes.get("tiles")
        if tiles is None or len(tiles[1]) != 9:
            raise OpenEXRBroken("a tiled image without a tile description")
        tile_width, tile_height, mode = struct.unpack("<IIB", tiles[1])
        if mode & 0x0F != 0 or tile_width == 0 or tile_height == 0:
            return _Part(None, tiled, deep)  # mip or rip levels: not counted here
        across = -(-width // tile_width)
        down = -(-height // tile_height)
        return _Part(across * down, tiled, deep)
    compression = attributes.get("compression")
    if compression is None or len(compression[1]) != 1:
        raise OpenEXRBroken("the header has no compression")
    lines = _LINES_PER_CHUNK.get(compression[1][0])
    if lines is None:
        return _Part(None, tiled, deep)  # a compression newer than this check
    return _Part(-(-height // lines), tiled, deep)


def _int(value: bytes) -> int:
    if len(value) != 4:
        raise OpenEXRBroken("a malformed chunkCount")
    count: int = struct.unpack("<i", value)[0]
    if not 0 < count <= _MAX_CHUNKS:
        raise OpenEXRBroken(f"an impossible chunk count: {count}")
    return count


class _Reader:
    def __init__(self, file: BinaryIO, size: int) -> None:
        self._file = file
        self._size = size

    def header(self) -> dict[str, tuple[str, bytes]] | None:
        """One header's attributes by name; None for the empty header."""
        attributes: dict[str, tuple[str, bytes]] = {}
        while True:
            name = self._string()
            if name == "":
                return attributes or None
            kind = self._string()
            length_bytes = self._exactly(4)
            length = struct.unpack("<i", length_bytes)[0]
            if length < 0 or self._file.tell() + length > min(self._size, _MAX_HEADER_BYTES):
                raise OpenEXRBroken(f"attribute {name!r} runs past the end of the file")
            attributes[name] = (kind, self._exactly(length))

    def offsets(self, count: int) -> list[int]:
        raw = self._exactly(8 * count)
        return list(struct.unpack(f"<{count}Q", raw))

    def _string(self) -> str:
        collected = bytearray()
        while True:
            byte = self._file.read(1)
            if not byte:
                raise OpenEXRBroken("the header is cut off")
            if byte == b"\0":
                return collected.decode("latin-1")
            collected += byte
            if len(collected) > 255:
                raise OpenEXRBroken("a name in the header is too long")

    def _exactly(self, count: int) -> bytes:
        data = self._file.read(count)
        if len(data) != count:
            raise OpenEXRBroken("the file is cut off")
        return data
