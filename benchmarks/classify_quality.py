"""Classifier quality on real, human-written text: the eval table and the issue's targets.

Usage: .venv/bin/python benchmarks/classify_quality.py [--real DIR] [--head FILE] [--json]

Reads, with the configured (or given) head, the packaged eval set, the packaged hard cases
and the dev split of every real set under ``--real`` (default: ``../shared/realdata/classify``
beside the checkout; the sets are never copied into the repository), and prints
``stormwatch classifier eval``'s table followed by each target and whether it is met:

- English complaint tweets (``preotiuc_complaints_en``): F1 >= 0.85, AUC >= 0.92;
- every sentiment set: negative-vs-rest AUC >= 0.85 and above its in-domain naive Bayes;
- the packaged eval: F1 >= 0.85 per language (fi >= 0.75);
- hard cases (a competitor named in passing): >= 80 % read right per language;
- chatter (sets of posts about no company): <= 5 % read as complaints; mean complaint
  probability of non-complaints <= 0.10 on every set.

Slow: ~8,500 posts through the real model, 10-20 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where alerts.py would shadow the
# alerts package: put the repository root ahead of it (tests/test_layout.py checks).
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers import ClassifierSettings, load_classifier  # noqa: E402
from classifiers.dataset import hard_path, packaged_paths  # noqa: E402
from classifiers.realeval import EvalRow, EvalTable, evaluate_sets  # noqa: E402

CHATTER = {"sb10k_xlmt_de", "mozetic_de", "mozetic_sv", "swe_emoji_sv"}


def targets(rows: list[EvalRow]) -> list[tuple[str, bool, str]]:
    """(target, met, measured) for each line of the issue's targets."""
    out: list[tuple[str, bool, str]] = []
    for r in rows:
        if r.set == "preotiuc_complaints_en":
            out.append(("en tweets F1 >= 0.85", r.f1 >= 0.85, f"{r.f1:.3f}"))
            out.append(("en tweets AUC >= 0.92", r.auc >= 0.92, f"{r.auc:.3f}"))
        if r.kind == "sentiment" and r.neg_auc is not None:
            nb = r.nb_auc if r.nb_auc is not None and not math.isnan(r.nb_auc) else 0.0
            out.append((f"{r.set} negAUC >= 0.85", r.neg_auc >= 0.85, f"{r.neg_auc:.3f}"))
            out.append((f"{r.set} negAUC > NB", r.neg_auc > nb, f"{r.neg_auc:.3f} vs {nb:.3f}"))
        if r.set == "data/eval":
            bar = 0.75 if r.lang == "fi" else 0.85
            out.append((f"packaged {r.lang} F1 >= {bar}", r.f1 >= bar, f"{r.f1:.3f}"))
        if r.set == "data/hard":
            # the passing mentions are the non-complaints: the share of them not flagged
            passing = r.n - r.complaints
            false_alarms = r.flagged * r.n - r.recall * r.complaints
            right = 1 - false_alarms / passing if passing else float("nan")
            out.append(
                (
                    f"hard cases {r.lang}: passing mentions >= 80 % right",
                    right >= 0.8,
                    f"{100 * right:.0f} % (complaints found {100 * r.recall:.0f} %)",
                )
            )
        if r.set in CHATTER:
            out.append((f"{r.set} chatter <= 5 % flagged", r.flagged <= 0.05, f"{r.flagged:.3f}"))
        if not math.isnan(r.mean_p_not) and r.set != "data/hard":
            ok = r.mean_p_not <= 0.10
            out.append((f"{r.set} {r.lang} p(not) <= 0.10", ok, f"{r.mean_p_not:.3f}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared/realdata/classify")
    parser.add_argument("--head", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.real.is_dir():
        sys.exit(f"no real sets at {args.real}: give --real DIR")
    settings = ClassifierSettings(head=str(args.head) if args.head else None)
    files = [packaged_paths("eval")[0].parent, hard_path()]
    table: EvalTable = evaluate_sets(load_classifier(settings), files, [args.real])
    print(table.to_json() if args.json else table.render())
    met = targets(table.rows)
    print(f"\ntargets: {sum(ok for _, ok, _ in met)} of {len(met)} met")
    for name, ok, measured in met:
        print(f"  {'met   ' if ok else 'missed'} {name:<44} {measured}")


if __name__ == "__main__":
    main()
