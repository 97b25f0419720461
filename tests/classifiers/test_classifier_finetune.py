"""Fine-tuning the encoder with LoRA, on a tiny BERT built here, through the production code.

What must hold: the adapter merged into a fresh model gives exactly what the trained
(wrapped) model computes; training lowers the loss and is repeatable; a fine-tuned head
carries its adapter (format version 2) and the e5 backend merges it at load; a frozen head
is still version 1; an adapter for another model is one clear error; the CLI does both.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer
from transformers import BertModel
from typer.testing import CliRunner

from classifiers import ClassifierSettings, HeadError, load_classifier, load_head
from classifiers.adapter import Adapter, merge_adapter
from classifiers.e5.backend import E5Encoder, load_pretrained, pooled_embeddings, tokenize
from classifiers.e5.locate import ModelSource
from classifiers.finetune import FinetuneSettings, extract_adapter, finetune, wrap_linears
from classifiers.train import train_head
from monitor.cli import app
from tests.support.fixtures.models import CREATED, SENTENCES, build_tokenizer, examples, tiny_config

# One full batch of the ten examples, no dropout (below): each epoch is one exact gradient
# step, so the loss must fall every epoch.
FAST = FinetuneSettings(epochs=6, lr=3e-3, batch_size=10, threads=1)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> ModelSource:
    """The tiny BERT of test_classifier_tiny, without dropout."""
    folder = tmp_path_factory.mktemp("ft") / "tiny-e5"
    build_tokenizer(folder)
    vocab = Tokenizer.from_file(str(folder / "tokenizer.json")).get_vocab_size()
    torch.manual_seed(0)
    config = tiny_config(vocab, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    BertModel(config).save_pretrained(folder)
    return ModelSource(folder, "tiny-e5", "model_dir")


@pytest.fixture(scope="module")
def adapter(tiny_model: ModelSource) -> Adapter:
    return finetune(tiny_model, examples(), settings=FAST)


def embed(model: torch.nn.Module, tokenizer: object) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        out: np.ndarray = pooled_embeddings(model, tokenize(tokenizer, SENTENCES, 64)).numpy()
    return out


def test_merged_adapter_computes_what_the_wrapped_model_computes(tiny_model: ModelSource) -> None:
    tokenizer, model = load_pretrained(tiny_model.path)
    base = embed(model, tokenizer)
    names = wrap_linears(model, rank=2, alpha=4.0)
    assert len(names) == 2 * 6  # q, k, v, attention output, intermediate, output per layer
    assert np.allclose(embed(model, tokenizer), base, atol=1e-6)  # B = 0: starts unchanged
    torch.manual_seed(1)
    for module in model.modules():
        if hasattr(module, "lora_b"):
            torch.nn.init.normal_(module.lora_b, std=0.5)
    wrapped = embed(model, tokenizer)
    assert not np.allclose(wrapped, base, atol=1e-3)
    trained = extract_adapter(model, rank=2, alpha=4.0)
    _, fresh = load_pretrained(tiny_model.path)
    merge_adapter(fresh, trained)
    assert np.allclose(embed(fresh, tokenizer), wrapped, atol=1e-5)


def test_finetuning_lowers_the_loss_and_repeats_for_a_seed(tiny_model: ModelSource) -> None:
    losses: list[float] = []
    first = finetune(tiny_model, examples(), settings=FAST, on_epoch=lambda n, x: losses.append(x))
    assert len(losses) == FAST.epochs, losses
    assert losses[-1] < losses[0] * 0.8, losses
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert first.info["loss"] == [round(x, 4) for x in losses]
    assert len(first.layers) == 12
    assert first.rank == FAST.rank
    a, b = first.layers["encoder.layer.0.attention.self.query"]
    assert a.shape == (FAST.rank, 32)
    assert b.shape == (32, FAST.rank)
    assert np.abs(b).max() > 0
    again = finetune(tiny_model, examples(), settings=FAST)
    other = finetune(
        tiny_model, examples(), settings=FinetuneSettings(**{**FAST.__dict__, "seed": 7})
    )
    name = "encoder.layer.1.output.dense"
    assert np.array_equal(again.layers[name][1], first.layers[name][1])
    assert not np.allclose(other.layers[name][1], first.layers[name][1])


def test_fine_tuned_head_carries_its_adapter_and_the_backend_merges_it(
    tiny_model: ModelSource, adapter: Adapter, tmp_path: Path
) -> None:
    tuned = E5Encoder(tiny_model, threads=1, adapter=adapter)
    head = train_head(tuned, examples(), created_at=CREATED, l2=0.1, adapter=adapter)
    head.save(tmp_path / "head.npz")
    with zipfile.ZipFile(tmp_path / "head.npz") as zf:
        assert any(n.startswith("lora.A.") for n in zf.namelist())
    loaded = load_head(tmp_path / "head.npz", encoder="tiny-e5")
    assert loaded.adapter is not None
    assert loaded.adapter.info["epochs"] == FAST.epochs
    for name, (a, b) in adapter.layers.items():
        assert np.array_equal(loaded.adapter.layers[name][0], a)
        assert np.array_equal(loaded.adapter.layers[name][1], b)
    settings = ClassifierSettings(
        model_dir=str(tiny_model.path), head=str(tmp_path / "head.npz"), threads=1
    )
    classifier = load_classifier(settings)
    got = classifier.classify(SENTENCES)
    _, complaint = head.predict(tuned.embed(SENTENCES))
    assert np.allclose([s.complaint for s in got], complaint, atol=1e-6)
    frozen = E5Encoder(tiny_model, threads=1).embed(SENTENCES)
    assert not np.allclose(classifier.encoder.embed(SENTENCES), frozen, atol=1e-3)


def test_a_frozen_head_is_still_version_1_and_loads(
    tiny_model: ModelSource, tmp_path: Path
) -> None:
    head = train_head(E5Encoder(tiny_model, threads=1), examples(), created_at=CREATED, l2=0.1)
    head.save(tmp_path / "frozen.npz")
    with np.load(tmp_path / "frozen.npz") as data:
        assert json.loads(str(data["meta"]))["format_version"] == 1
        assert not [k for k in data.files if k.startswith("lora.")]
    assert load_head(tmp_path / "frozen.npz").adapter is None


def test_an_adapter_for_another_model_is_one_clear_error(
    tiny_model: ModelSource, adapter: Adapter, tmp_path: Path
) -> None:
    a, b = adapter.layers["encoder.layer.0.attention.self.query"]
    for layers, says in [
        ({"encoder.layer.11.attention.self.query": (a, b)}, "does not have"),
        ({"encoder.layer.0.attention.self.query": (a[:, :16], b)}, "shape"),
    ]:
        wrong = Adapter(rank=adapter.rank, alpha=adapter.alpha, layers=layers)
        head = train_head(E5Encoder(tiny_model, threads=1), examples(), created_at=CREATED, l2=0.1)
        path = tmp_path / "wrong.npz"
        head.__class__(**{**head.__dict__, "adapter": wrong}).save(path)
        settings = ClassifierSettings(model_dir=str(tiny_model.path), head=str(path), threads=1)
        with pytest.raises(HeadError, match=f"{says}.*retrain"):
            load_classifier(settings).classify(["Nordtel svarer ikke."])


def test_a_head_with_half_an_adapter_is_damaged(adapter: Adapter, tmp_path: Path) -> None:
    adapter_meta = {"rank": 8, "alpha": 16}
    meta = {"format_version": 2, "encoder": "tiny-e5", "dim": 32, "adapter": adapter_meta}
    arrays = {
        "mean": np.zeros(32),
        "scale": np.ones(32),
        "sentiment_w": np.zeros((32, 3)),
        "sentiment_b": np.zeros(3),
        "complaint_w": np.zeros((32, 2)),
        "complaint_b": np.zeros(2),
        "lora.A.encoder.layer.0.attention.self.query": np.zeros((8, 32), dtype=np.float32),
    }
    np.savez(tmp_path / "half.npz", meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(HeadError, match="incomplete"):
        load_head(tmp_path / "half.npz")
    meta["format_version"] = 4  # a head from a newer Stormwatch
    np.savez(tmp_path / "v4.npz", meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(HeadError, match="reads versions 1, 2, 3"):
        load_head(tmp_path / "v4.npz")


def test_cli_train_fine_tunes_checks_and_keeps_a_head_below_target_aside(
    tiny_model: ModelSource, tmp_path: Path
) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps(
                {
                    "id": e.id,
                    "lang": e.lang,
                    "text": e.text,
                    "label": e.label,
                    "sentiment": e.sentiment,
                    "brand": e.brand,
                }
            )
            + "\n"
            for e in examples()
        )
    )
    config = tmp_path / "stormwatch.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/sw.db"\n'
        f'[classifier]\nmodel_dir = "{tiny_model.path}"\nthreads = 1\n'
        '[[brands]]\nname = "Nordtel"\n'
    )
    runner = CliRunner()
    common = ["classifier", "train", "--examples", str(train), "-c", str(config)]
    tuned = runner.invoke(app, [*common, "-o", str(tmp_path / "t.npz"), "--epochs", "2"])
    # the held-out check: six languages and overall; a 2-layer random model misses the bar,
    # so the new head does not replace t.npz but waits beside it, and the exit status says so
    assert tuned.exit_code == 1, tuned.output
    assert "encoder fine-tuned" in tuned.output
    assert "epoch 2/2" in tuned.output
    check = next(line for line in tuned.output.splitlines() if "held-out complaint F1" in line)
    assert all(f"{lang} " in check for lang in ("da", "de", "en", "fi", "nb", "sv", "overall"))
    assert "below target on the held-out set" in tuned.output
    assert "--force" in tuned.output
    assert not (tmp_path / "t.npz").exists()
    head = load_head(tmp_path / "t.candidate.npz")
    assert head.adapter is not None
    assert head.adapter.info["epochs"] == 2
    forced = runner.invoke(
        app, [*common, "-o", str(tmp_path / "t.npz"), "--epochs", "1", "--force"]
    )
    assert forced.exit_code == 0, forced.output
    assert "warning: below target" in forced.output
    assert load_head(tmp_path / "t.npz").adapter
    frozen = runner.invoke(app, [*common, "-o", str(tmp_path / "f.npz"), "--frozen", "--no-check"])
    assert frozen.exit_code == 0, frozen.output
    assert "frozen encoder" in frozen.output
    assert load_head(tmp_path / "f.npz").adapter is None
    assert "held-out" not in frozen.output
