"""Real labelled sets: the loader's schema, the licence rule, the metrics, calibration at load,
target-aware clauses and the reasons `stormwatch classify` gives for bad input.

Every set here is written by the test into a temporary folder (the real sets never enter the
repository); the classifier is a word-counting stand-in where a model is not the point.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from classifiers.base import Scores
from classifiers.dataset import Example
from classifiers.errors import DatasetError, LicenceError
from classifiers.evaluate import predict_examples
from classifiers.head import Head, load_head
from classifiers.inputs import MAX_TEXT_CHARS, prepare
from classifiers.metrics import NaiveBayes, auc, ece, f1_at
from classifiers.passages import find_mentions, passages
from classifiers.realdata import check_licence, find_sets, load_set
from classifiers.realeval import evaluate_sets
from tests.support.paths import REPO


def write_set(root: Path, name: str, rows: list[dict[str, object]]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for split in ("train", "dev"):
        lines = [
            json.dumps({"id": f"{name}-{split}-{i}", "set": name, **r}) for i, r in enumerate(rows)
        ]
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def sentiment_rows() -> list[dict[str, object]]:
    good = ["Fin service, tak", "Super hurtig levering", "Glad for det", "Dejlig dag"]
    bad = ["Elendig service", "Aldrig igen, skandale", "Forfærdelig ventetid", "Elendig app"]
    return [{"lang": "da", "text": t, "label": "positive", "brand": None} for t in good] + [
        {"lang": "da", "text": t, "label": "negative", "brand": None} for t in bad
    ]


class WordModel:
    """Complaint and negative probability from a word list (the 'model' of these tests)."""

    BAD = ("elendig", "aldrig", "forfærdelig", "skandale", "disaster", "mistake")

    def classify(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Scores]:
        out = []
        for text in texts:
            hits = sum(w in text.lower() for w in self.BAD)
            p = min(0.95, 0.05 + 0.45 * hits)
            out.append(Scores(negative=p, neutral=1 - p, positive=0.0, complaint=p))
        return out


# --- the loader and the licence rule -----------------------------------------------------


def test_sets_are_found_read_and_mapped_to_the_complaint_proxy(tmp_path: Path) -> None:
    write_set(tmp_path, "lcc_da", sentiment_rows())
    write_set(
        tmp_path,
        "germeval2017_de",
        [
            {
                "lang": "de",
                "text": "Zug fällt aus",
                "label": "negative",
                "meta": {"relevant": True},
            },
            {"lang": "de", "text": "Wetter mies", "label": "negative", "meta": {"relevant": False}},
        ],
    )
    sets = {s.name: s for s in find_sets([tmp_path])}
    assert sets["lcc_da"].kind == "sentiment"
    assert sets["lcc_da"].shippable
    assert not sets["germeval2017_de"].shippable
    dev = load_set(sets["germeval2017_de"].path, "dev")
    # GermEval: negative AND about the company is the complaint side; negative weather is not
    assert [r.complaint for r in dev] == [True, False]
    assert [r.negative for r in dev] == [True, True]


def test_a_bad_line_names_file_and_line(tmp_path: Path) -> None:
    folder = write_set(tmp_path, "lcc_da", sentiment_rows())
    (folder / "dev.jsonl").write_text('{"id": "x", "lang": "da", "text": "hej", "label": "meh"}\n')
    with pytest.raises(DatasetError, match=r"dev\.jsonl:1: label must be"):
        load_set(folder, "dev")


def test_non_commercial_sets_are_refused_for_a_shipped_head_unless_an_experiment(
    tmp_path: Path,
) -> None:
    write_set(tmp_path, "lcc_da", sentiment_rows())
    write_set(tmp_path, "dapol_da", sentiment_rows())
    write_set(tmp_path, "somebody_elses_set", sentiment_rows())
    sets = find_sets([tmp_path])
    with pytest.raises(LicenceError, match="dapol_da, somebody_elses_set"):
        check_licence(sets, experiment=False)
    check_licence(sets, experiment=True)
    check_licence([s for s in sets if s.name == "lcc_da"], experiment=False)


# --- metrics -----------------------------------------------------------------------------


def test_auc_ece_and_f1_match_hand_computation() -> None:
    y = np.array([True, True, False, False])
    assert auc(y, np.array([0.9, 0.4, 0.5, 0.1])) == pytest.approx(0.75)
    assert auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)  # ties count half
    # two bins: [0.9, 0.8] with rate 1 -> |1 - 0.85|; [0.2, 0.1] with rate 0 -> |0 - 0.15|
    assert ece(y, np.array([0.9, 0.8, 0.2, 0.1])) == pytest.approx(0.15)
    at = f1_at(y, np.array([0.9, 0.4, 0.6, 0.1]), 0.5)
    assert (at.precision, at.recall, at.f1) == (0.5, 0.5, 0.5)


def test_naive_bayes_baseline_learns_its_words() -> None:
    nb = NaiveBayes(["elendig service", "god service", "elendig app", "god app"], [1, 0, 1, 0])
    p_bad, p_good = nb.predict(["elendig", "god"])
    assert p_bad > 0.5 > p_good


def test_eval_table_has_a_row_per_set_and_language_with_the_baseline(tmp_path: Path) -> None:
    write_set(tmp_path, "lcc_da", sentiment_rows())
    table = evaluate_sets(WordModel(), [], [tmp_path])
    [row] = table.rows
    assert (row.set, row.lang, row.kind, row.n, row.complaints) == (
        "lcc_da",
        "da",
        "sentiment",
        8,
        4,
    )
    assert row.auc > 0.9
    assert row.neg_auc is not None
    assert row.neg_auc > 0.9
    assert row.nb_auc is not None
    assert row.nb_auc > 0.5
    assert row.mean_p_not == pytest.approx(0.05)
    data = json.loads(table.to_json())["rows"][0]
    assert data["set"] == "lcc_da"
    assert "ece" in data
    assert "lcc_da" in table.render()


# --- calibration at load -----------------------------------------------------------------


def head_with(calibration: dict[str, tuple[float, float]]) -> Head:
    dim = 2
    return Head(
        encoder="tiny",
        dim=dim,
        mean=np.zeros(dim),
        scale=np.ones(dim),
        sentiment_w=np.zeros((dim, 3)),
        sentiment_b=np.zeros(3),
        complaint_w=np.array([[0.0, 1.0], [0.0, 0.0]]),
        complaint_b=np.zeros(2),
        calibration=calibration,
    )


def test_calibration_is_saved_and_applied_per_language_at_load(tmp_path: Path) -> None:
    head = head_with({"da": (1.0, -2.0), "*": (0.5, 0.0)})
    path = tmp_path / "head.npz"
    head.save(path)
    loaded = load_head(path)
    assert loaded.version() == 3
    assert loaded.calibration == head.calibration
    x = np.array([[2.0, 0.0], [2.0, 0.0], [2.0, 0.0]])
    _, raw = head_with({}).predict(x)
    _, calibrated = loaded.predict(x, ["da", "sv", None])
    assert raw[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert calibrated[0] == pytest.approx(0.5)  # 1.0 * 2 - 2 for Danish
    assert calibrated[1] == pytest.approx(calibrated[2]) == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_a_head_without_calibration_stays_readable_by_older_versions(tmp_path: Path) -> None:
    path = tmp_path / "head.npz"
    head_with({}).save(path)
    assert load_head(path).version() == 1


# --- target-aware clauses ----------------------------------------------------------------


def read_for(text: str, brand: str, other: str) -> list[str]:
    spans = find_mentions(text, [brand])
    return [p.text for p in passages(None, text, spans, others=find_mentions(text, [other]))]


def test_a_passing_mention_is_read_as_its_own_clause() -> None:
    text = "Sydnet is a disaster, should have stayed with Nordtel."
    assert read_for(text, "Nordtel", "Sydnet") == ["should have stayed with Nordtel."]
    assert read_for(text, "Sydnet", "Nordtel") == ["Sydnet is a disaster,"]
    switch = "Skiftede fra Nordtel til Sydnet, kæmpe fejl. Sydnet leverer intet."
    # the unnamed "kæmpe fejl" belongs to the name mentioned last before it: Sydnet
    assert read_for(switch, "Nordtel", "Sydnet") == ["Skiftede fra Nordtel til Sydnet,"]
    # without another company in the window, the window is read whole
    assert read_for("Nordtel is a disaster, never again.", "Nordtel", "Sydnet") == [
        "Nordtel is a disaster, never again."
    ]


def test_hard_cases_are_read_for_the_right_company_on_a_word_model() -> None:
    texts = [
        ("Sydnet is a disaster, should have stayed with Nordtel.", "Sydnet"),
        ("Switched to Nordtel from Sydnet, the worst mistake: Nordtel is a disaster.", "Nordtel"),
    ]
    examples = [
        Example(
            id=f"{i}{b}",
            lang="en",
            text=text,
            brand=b,
            label="complaint" if b == bad else "not_complaint",
            sentiment="negative",
            others=("Sydnet",) if b == "Nordtel" else ("Nordtel",),
        )
        for i, (text, bad) in enumerate(texts)
        for b in ("Nordtel", "Sydnet")
    ]
    said = {p.example.id: p.label for p in predict_examples(WordModel(), examples)}
    assert said == {
        "0Nordtel": "not_complaint",
        "0Sydnet": "complaint",
        "1Nordtel": "complaint",
        # a known limit: "from Sydnet, the worst mistake" stays with the name mentioned last
        "1Sydnet": "complaint",
    }


# --- bad input ---------------------------------------------------------------------------


class Detect:
    def detect(self, text: str, prior: str | None = None) -> str | None:
        return "da" if "ikke" in text else None


def spans(text: str, brand: str) -> list[tuple[int, int]]:
    return find_mentions(text, [brand])


@pytest.mark.parametrize(
    ("record", "brand", "reason"),
    [
        ({"text": ""}, None, "empty"),
        ({"text": "   \n "}, "Nordtel", "empty"),
        ({"text": "Nordtel virker ikke. " * 10_000}, "Nordtel", "truncated"),
        ({"text": "Det virker ikke"}, "Nordtel", "brand_not_mentioned"),
        ({"text": "Le service est nul"}, None, "unsupported_language"),
        ({"text": "Nordtel virker ikke"}, "Nordtel", None),
    ],
)
def test_bad_input_gets_a_reason(record: dict[str, str], brand: str | None, reason: str) -> None:
    prepared = prepare(record, brand, Detect(), spans)
    assert prepared.reason == reason
    assert len(prepared.text) <= MAX_TEXT_CHARS
    assert prepared.readable == (reason != "empty")


# --- training on real sets and calibrating, through the e5 code path on a tiny model --------


def complaint_rows(lang: str) -> list[dict[str, object]]:
    bad = ["Three weeks without internet, nobody answers", "Charged twice, support hung up"]
    good = ["Thanks for the quick fix", "Does the shop open at nine?"]
    rows: list[dict[str, object]] = [
        {"lang": lang, "text": t, "label": "complaint", "brand": "Nordtel"} for t in bad
    ]
    rows += [{"lang": lang, "text": t, "label": "not_complaint", "brand": "Nordtel"} for t in good]
    rows += [{"lang": lang, "text": "lol what a game", "label": "not_complaint", "brand": None}]
    return rows


def test_real_sets_train_and_calibrate_the_head_and_it_loads_calibrated(tmp_path: Path) -> None:
    from classifiers.config import ClassifierSettings
    from classifiers.e5.backend import E5Encoder
    from classifiers.e5.locate import ModelSource
    from classifiers.realtrain import train_real
    from tests.support.fixtures.models import CREATED, build_tiny_bert, examples

    folder = build_tiny_bert(tmp_path / "tiny-e5")
    encoder = E5Encoder(ModelSource(folder, "tiny-e5", "model_dir"), threads=1)
    settings = ClassifierSettings(model_dir=str(folder), threads=1)
    train_dir, cal_dir = tmp_path / "train", tmp_path / "cal"
    write_set(train_dir, "lcc_da", sentiment_rows())
    write_set(train_dir, "cesamard_complaints_en", complaint_rows("en"))
    write_set(cal_dir, "preotiuc_complaints_en", complaint_rows("en"))
    write_set(cal_dir, "dapol_da", sentiment_rows())
    head, info = train_real(
        settings,
        encoder,
        examples(),
        real_dirs=[train_dir],
        calibration_dirs=[cal_dir],
        created_at=CREATED,
    )
    assert info is not None
    assert set(head.calibration) == {"en", "*", "da"}
    assert head.counts["real"] == {"cesamard_complaints_en": 5, "lcc_da": 8}
    assert head.calibration["da"][0] == head.calibration["en"][0]  # one slope, own bias
    head.save(tmp_path / "head.npz")
    loaded = load_head(tmp_path / "head.npz")
    logits = np.array([0.3, 0.3, 0.3])
    calibrated = loaded.calibrate(logits, ["da", "en", "fi"])
    (a_da, b_da), (a_en, b_en) = loaded.calibration["da"], loaded.calibration["en"]
    assert calibrated[0] == pytest.approx(1 / (1 + np.exp(-(a_da * 0.3 + b_da))))
    assert calibrated[1] == pytest.approx(1 / (1 + np.exp(-(a_en * 0.3 + b_en))))
    assert calibrated[2] == pytest.approx(calibrated[1])  # no Finnish calibration: English's
    x = encoder.embed(["Tre uger uden internet"])
    _, raw = replace_calibration(loaded).predict(x)
    _, danish = loaded.predict(x, ["da"])
    from classifiers.calibrate import raw_logits

    expected = 1 / (1 + np.exp(-np.clip(a_da * raw_logits(raw)[0] + b_da, -500, 500)))
    assert danish[0] == pytest.approx(expected, abs=1e-6)

    write_set(train_dir, "dapol_da", sentiment_rows())
    with pytest.raises(LicenceError, match="dapol_da"):
        train_real(settings, encoder, examples(), real_dirs=[train_dir], created_at=CREATED)
    marked, _ = train_real(
        settings, encoder, examples(), real_dirs=[train_dir], created_at=CREATED, experiment=True
    )
    assert marked.counts["experiment"] is True


def replace_calibration(head: Head) -> Head:
    from dataclasses import replace

    return replace(head, calibration={})


def test_platt_recovers_its_parameters_and_the_bias_matches_a_level() -> None:
    from classifiers.calibrate import fit_platt, match_bias

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, 20_000)
    y = rng.random(20_000) < 1 / (1 + np.exp(-(1.5 * logits - 1.0)))
    a, b = fit_platt(logits, y)
    assert a == pytest.approx(1.5, abs=0.1)
    assert b == pytest.approx(-1.0, abs=0.1)
    bias = match_bias(logits, 1.5, 0.05)
    assert float((1 / (1 + np.exp(-(1.5 * logits + bias)))).mean()) == pytest.approx(0.05, abs=1e-4)


@pytest.fixture
def logs_on_stderr() -> Iterator[None]:
    """Log lines on stderr for this test: an earlier test in the same process may have set
    the daemon's logging (stdout), and a CLI's --json output must be read alone."""
    import sys

    from monitor.logs import configure
    from monitor.settings import parse_settings

    configure(parse_settings({}).log, stream=sys.stderr)
    yield
    configure(parse_settings({}).log)


def test_classifier_eval_prints_one_table_for_files_and_real_sets(
    tmp_path: Path, logs_on_stderr: None
) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app
    from tests.support.fixtures.models import tiny_classifier_settings

    tiny = tiny_classifier_settings(tmp_path)
    config = tmp_path / "stormwatch.toml"
    config.write_text(
        f'[classifier]\nmodel_dir = "{tiny.model_dir}"\nhead = "{tiny.head}"\nthreads = 1\n'
    )
    real = tmp_path / "real"
    write_set(real, "lcc_da", sentiment_rows())
    hard = REPO / "classifiers/data/hard/en.jsonl"
    runner = CliRunner()
    shown = runner.invoke(
        app, ["classifier", "eval", str(hard), "--real", str(real), "--config", str(config)]
    )
    assert shown.exit_code == 0, shown.output
    assert "lcc_da" in shown.output
    assert "hard/en" in shown.output
    as_json = runner.invoke(
        app, ["classifier", "eval", "--real", str(real), "--json", "--config", str(config)]
    )
    [row] = json.loads(as_json.stdout)["rows"]
    assert row["set"] == "lcc_da"
    assert row["n"] == 8
    assert 0.0 <= row["auc"] <= 1.0
    refused = runner.invoke(app, ["classifier", "eval", "--config", str(config)])
    assert refused.exit_code == 1
    assert "--real" in refused.output


def test_classify_pending_without_a_config_refuses_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STORMWATCH_CONFIG", raising=False)
    done = CliRunner().invoke(app, ["classify", "--pending"])
    assert done.exit_code == 1
    assert "--config" in done.output
    assert list(tmp_path.iterdir()) == []  # no ./stormwatch.db made on the way


def test_classifier_train_takes_real_sets_refuses_licences_and_checks_on_real_dev(
    tmp_path: Path,
    logs_on_stderr: None,
) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app
    from tests.support.fixtures.models import build_tiny_bert

    folder = build_tiny_bert(tmp_path / "tiny-e5")
    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"id": f"t{i}", "lang": "en", "text": t, "brand": "Nordtel", **lab}) + "\n"
            for i, (t, lab) in enumerate(
                [
                    ("Nordtel never answers", {"label": "complaint", "sentiment": "negative"}),
                    ("Nordtel charged me twice", {"label": "complaint", "sentiment": "negative"}),
                    (
                        "Thanks Nordtel, all fixed",
                        {"label": "not_complaint", "sentiment": "positive"},
                    ),
                    ("Nordtel opens a shop", {"label": "not_complaint", "sentiment": "neutral"}),
                ]
            )
        )
    )
    config = tmp_path / "stormwatch.toml"
    config.write_text(f'[classifier]\nmodel_dir = "{folder}"\nthreads = 1\n')
    shippable, other = tmp_path / "ok", tmp_path / "nc"
    write_set(shippable, "lcc_da", sentiment_rows())
    write_set(other, "dapol_da", sentiment_rows())
    cal = tmp_path / "cal"
    write_set(cal, "preotiuc_complaints_en", complaint_rows("en"))
    common = ["classifier", "train", "--frozen", "--no-relabels", "--examples", str(train)]
    common += ["-c", str(config), "-o", str(tmp_path / "h.npz"), "--force"]
    runner = CliRunner()
    refused = runner.invoke(app, [*common, "--real", str(other)])
    assert refused.exit_code == 1
    assert "dapol_da" in refused.output
    assert "--experiment" in refused.output
    assert not (tmp_path / "h.npz").exists()
    done = runner.invoke(app, [*common, "--real", str(shippable), "--calibration", str(cal)])
    assert done.exit_code == 0, done.output
    # the check reads the real dev splits (of both the training and the calibration sets)
    assert "lcc_da" in done.stdout
    assert "preotiuc_complaints_en" in done.stdout
    head = load_head(tmp_path / "h.npz")
    assert head.counts["real"] == {"lcc_da": 8}
    assert "en" in head.calibration
