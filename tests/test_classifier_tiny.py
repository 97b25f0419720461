"""The e5 backend through its production code path, on tiny models built here.

Also the builders other classifier tests import (``import test_classifier_tiny as tiny``):
a Unigram tokenizer trained on a dozen sentences, a 2-layer BERT with hidden size 32, a tiny
text-classification model, and a few throwaway labelled examples. Nothing is downloaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tokenizers.trainers import UnigramTrainer
from transformers import BertConfig, BertForSequenceClassification, BertModel

from classifiers import (
    ClassifierSettings,
    Example,
    HeadError,
    ModelUnavailable,
    Scores,
    load_classifier,
    train_head,
)
from classifiers.cache import CachedEncoder
from classifiers.e5.backend import E5Classifier, E5Encoder
from classifiers.e5.locate import ModelSource

CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SENTENCES = [
    "Tak for ingenting, Nordtel. Tre uger uden internet.",
    "Jättebra service från Teleborg, tack!",
    "Hvorfor svarer ingen hos Fjordpost? Jeg har ventet i en time.",
    "The parcel never arrived and nobody apologised.",
    "Die Lieferung kam zwei Wochen zu spät.",
    "Palvelu oli erinomaista, kiitos Kvikmart!",
    "Storm i Skåne: strömavbrott hos flera bolag.",
    "Great support from Aurora Air, thank you.",
    "Pakken kom i stykker og kundeservice lagde på.",
    "Regningen var forkert igen, Hjemly svarer ikke.",
    "Vindkraft Energi åpner nytt kontor i Bergen.",
    "Sparbanken Nord hjälpte mig snabbt med lånet.",
]


def build_tokenizer(folder: Path) -> None:
    """A Unigram tokenizer (NFKC + Metaspace, ``<s> $A </s>``) like the converted one."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = UnigramTrainer(
        vocab_size=150, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"
    )
    tok.train_from_iterator(["query: " + s for s in SENTENCES], trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "model_max_length": 64,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))


def tiny_config(vocab: int, **extra: object) -> BertConfig:
    return BertConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=1,
        **extra,
    )


def build_tiny_bert(folder: Path) -> Path:
    """A 2-layer BertModel folder (+ tokenizer) loadable by AutoModel/AutoTokenizer."""
    build_tokenizer(folder)
    vocab = Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab_size()
    torch.manual_seed(0)
    BertModel(tiny_config(vocab)).save_pretrained(folder)
    return folder


def build_tiny_text_classifier(folder: Path, id2label: dict[int, str]) -> Path:
    """A BertForSequenceClassification folder with the given labels."""
    build_tokenizer(folder)
    vocab = Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab_size()
    torch.manual_seed(0)
    config = tiny_config(vocab, id2label=id2label, label2id={v: k for k, v in id2label.items()})
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def examples() -> list[Example]:
    """Ten throwaway labelled examples (the real set is classifiers/data)."""
    rows = [
        ("Tak for ingenting, Nordtel. Tre uger uden internet.", "complaint", "negative"),
        ("Hvorfor svarer ingen hos Nordtel? Jeg har ventet i en time.", "complaint", "negative"),
        ("Nordtel: pakken kom i stykker og kundeservice lagde på.", "complaint", "negative"),
        ("Regningen fra Nordtel var forkert igen.", "complaint", "negative"),
        ("Nordtel never answered and the box is broken.", "complaint", "negative"),
        ("Jättebra service från Nordtel, tack!", "not_complaint", "positive"),
        ("Great support from Nordtel, thank you.", "not_complaint", "positive"),
        ("Nordtel åpner nytt kontor i Bergen.", "not_complaint", "neutral"),
        ("Storm i Skåne: strömavbrott, Nordtel arbetar på det.", "not_complaint", "neutral"),
        ("Palvelu oli erinomaista, kiitos Nordtel!", "not_complaint", "positive"),
    ]
    return [
        Example(id=f"t-{i}", lang="da", text=t, label=lab, sentiment=sen, brand="Nordtel")  # type: ignore[arg-type]
        for i, (t, lab, sen) in enumerate(rows)
    ]


def tiny_classifier_settings(tmp: Path) -> ClassifierSettings:
    """Settings for the e5 backend on a tiny model with a head trained for it."""
    folder = build_tiny_bert(tmp / "tiny-e5")
    encoder = E5Encoder(ModelSource(folder, "tiny-e5", "model_dir"), threads=1)
    head = train_head(encoder, examples(), created_at=CREATED, l2=0.1)
    head.save(tmp / "head.npz")
    return ClassifierSettings(model_dir=str(folder), head=str(tmp / "head.npz"), threads=1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ClassifierSettings:
    return tiny_classifier_settings(tmp_path_factory.mktemp("tiny"))


def test_e5_backend_classifies_through_the_registry(tiny: ClassifierSettings) -> None:
    clf = load_classifier(tiny)
    scores = clf.classify(["Tak for ingenting, Nordtel.", "Great support, thank you.", ""])
    assert len(scores) == 3
    for s in scores:
        assert isinstance(s, Scores)
        assert abs(s.negative + s.neutral + s.positive - 1) < 1e-6
        assert 0 <= s.complaint <= 1
        assert s.label in {"complaint", "not_complaint"}
    assert clf.classify([]) == []


def test_embeddings_are_normalised_and_order_is_kept(tiny: ClassifierSettings) -> None:
    texts = ["kort", "en meget længere tekst om Nordtel og regningen", "mellem lang tekst"]
    enc = E5Encoder(
        ModelSource(Path(str(tiny.model_dir)), "tiny-e5", "model_dir"), threads=1, batch_size=2
    )
    batched = enc.embed(texts)
    single = np.vstack([enc.embed([t]) for t in texts])
    assert np.allclose(np.linalg.norm(batched, axis=1), 1, atol=1e-5)
    assert np.allclose(batched, single, atol=1e-5)  # padding and sorting change nothing


def test_int8_and_truncation_still_give_scores(tiny: ClassifierSettings) -> None:
    settings = tiny.model_copy(update={"int8": True, "max_tokens": 8})
    scores = load_classifier(settings).classify(["Tak for ingenting, Nordtel. " * 30])
    assert 0 <= scores[0].complaint <= 1


def test_model_loads_once_under_concurrent_use(tiny: ClassifierSettings) -> None:
    clf = E5Classifier(tiny)
    results: list[list[Scores]] = []
    threads = [
        threading.Thread(target=lambda: results.append(clf.classify(["Nordtel svarer ikke"])))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len({r[0].complaint for r in results}) == 1


def test_head_for_another_encoder_is_a_clear_error(
    tiny: ClassifierSettings, tmp_path: Path
) -> None:
    other = build_tiny_bert(tmp_path / "other-model")
    clf = load_classifier(tiny.model_copy(update={"model_dir": str(other)}))
    with pytest.raises(HeadError, match=r"trained for encoder 'tiny-e5'.*classifier train"):
        clf.classify(["x"])


def test_missing_or_broken_model_dir_is_one_clear_error(
    tiny: ClassifierSettings, tmp_path: Path
) -> None:
    with pytest.raises(ModelUnavailable, match=r"no config.json"):
        load_classifier(tiny.model_copy(update={"model_dir": str(tmp_path)})).classify(["x"])
    broken = build_tiny_bert(tmp_path / "broken")
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "stormwatch_encoder": "tiny-e5"}))
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    settings = tiny.model_copy(update={"model_dir": str(broken)})
    with pytest.raises(ModelUnavailable, match=r"Cannot load the e5 model from .*broken"):
        load_classifier(settings).classify(["x"])


class CountingEncoder:
    """A fake encoder that records what it was asked to embed."""

    encoder_id = "counting"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), 1, 0, 0] for t in texts], dtype=np.float32)


def test_identical_passages_are_embedded_once() -> None:
    inner = CountingEncoder()
    enc = CachedEncoder(inner)
    first = enc.embed(["a", "bb", "a"])
    second = enc.embed(["bb", "ccc"])
    assert inner.calls == [["a", "bb"], ["ccc"]]
    assert first[0].tolist() == first[2].tolist() == [1, 1, 0, 0]
    assert second[0].tolist() == [2, 1, 0, 0]
    assert enc.embed([]).shape == (0, 4)
