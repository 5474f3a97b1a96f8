"""Render ``experiments/results/ham10000.jsonl`` into the tables of docs/training-recipe.md.

Usage (from the repository root)::

    .venv/bin/python experiments/render_results.py [--check]

Replaces the text between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` markers in
docs/training-recipe.md with tables built from the results file, so every number there comes from it.
``--check`` exits 1 if the page is not up to date with the file (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ham10000.jsonl"
PAGE = HERE.parent / "docs" / "training-recipe.md"
CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")


def _rows(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    latest: dict[tuple[str, int], dict] = {}
    for row in rows:  # a configuration run again replaces its earlier row
        latest[(row["name"], row["seed"])] = row
    return list(latest.values())


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def _group(rows: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["name"]].append(row)
    return groups


def _groups_with_test(rows: list[dict], prefix: str) -> list[tuple[str, list[dict], str]]:
    """(name without the prefix, its rows by seed, "BA (CI) / BA (CI)") for the rows named ``prefix...``."""
    out = []
    for name, group in _group([r for r in rows if r["name"].startswith(prefix)]).items():
        group.sort(key=lambda r: r["seed"])
        test = " / ".join(f"{r['test']['balanced_accuracy']:.3f} ({r['test']['balanced_accuracy_ci95'][0]:.2f}-"
                          f"{r['test']['balanced_accuracy_ci95'][1]:.2f})" for r in group)
        out.append((name.removeprefix(prefix), group, test))
    return out


def ablation_table(rows: list[dict]) -> str:
    lines = ["| configuration (cpu recipe at 160x160, 10 epochs, one change) | seeds | test BA (95% CI) | "
             "val BA | test BA without TTA | without prior correction | macro F1 | training min |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, group, test in _groups_with_test(rows, "budget: "):
        cells = [
            name, ", ".join(str(r["seed"]) for r in group), test,
            " / ".join(f"{r['validation']['val_balanced_accuracy_corrected']:.3f}" for r in group),
            " / ".join(f"{r['test']['balanced_accuracy_without_tta']:.3f}" for r in group),
            " / ".join(f"{r['test']['balanced_accuracy_without_prior_correction']:.3f}" for r in group),
            " / ".join(f"{r['test']['macro_f1']:.3f}" for r in group),
            " / ".join(_minutes(r["seconds"]["training"]) for r in group),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _get(row: dict, *keys: str) -> float | None:
    value: object = row
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, (int, float)) and value == value else None  # NaN (no validation part): None


def _cells(group: list[dict], *keys: str, digits: int = 3) -> str:
    return " / ".join("-" if _get(r, *keys) is None else f"{_get(r, *keys):.{digits}f}" for r in group)


def ablation_v2_table(rows: list[dict]) -> str:
    """Recipe v2's rows: the cpu recipe (hair removal off, as the preset) at 160x160 and 10 epochs, one addition."""
    lines = ["| addition (cpu recipe at 160x160, 10 epochs) | seeds | test BA (95% CI) | mean test BA | val BA | "
             "without TTA | without prior correction | mel sensitivity at 80% specificity | ECE (temperature / none) "
             "| training min |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, group, test in _groups_with_test(rows, "v2 budget: "):
        mean = sum(r["test"]["balanced_accuracy"] for r in group) / len(group)
        ece = " / ".join(f"{r['test']['ece15']:.3f} / {r['test']['ece15_without_temperature']:.3f}" for r in group)
        cells = [name, ", ".join(str(r["seed"]) for r in group), test, f"**{mean:.3f}**",
                 _cells(group, "validation", "val_balanced_accuracy_corrected"),
                 _cells(group, "test", "balanced_accuracy_without_tta"),
                 _cells(group, "test", "balanced_accuracy_without_prior_correction"),
                 _cells(group, "test", "mel_screening", "sensitivity_at_specificity", digits=2), ece,
                 " / ".join(_minutes(r["seconds"]["training"]) for r in group)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline_table(rows: list[dict]) -> str:
    lines = ["| run | seed | test BA (95% CI) | accuracy | macro F1 | val BA | images + hair cache min | "
             "training min | total min | mel sensitivity at 80% specificity | ECE | "
             + " | ".join(f"{c} recall" for c in CLASSES) + " |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
             + " | ".join(["---:"] * 7) + " |"]
    for row in sorted((r for r in rows if not r["name"].startswith(("budget:", "v2 budget:"))),
                      key=lambda r: (r["name"], r["seed"])):
        test, seconds = row["test"], row["seconds"]
        seeds = " + ".join(str(m["seed"]) for m in row["members"]) if "members" in row else str(row["seed"])
        cells = [row["name"], seeds,
                 f"**{test['balanced_accuracy']:.3f}** ({test['balanced_accuracy_ci95'][0]:.3f}-"
                 f"{test['balanced_accuracy_ci95'][1]:.3f})",
                 f"{test['accuracy']:.3f}", f"{test['macro_f1']:.3f}",
                 _cells([row], "validation", "val_balanced_accuracy_corrected"),
                 _minutes(seconds["loading_images_and_hair_cache"]), _minutes(seconds["training"]),
                 _minutes(seconds["total"]), _cells([row], "test", "mel_screening", "sensitivity_at_specificity",
                                                    digits=2), _cells([row], "test", "ece15")]
        cells += [f"{test['recall'][c]:.2f}" for c in CLASSES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(page: str, rows: list[dict]) -> str:
    tables = {"ablation": ablation_table(rows), "ablation-v2": ablation_v2_table(rows), "headline": headline_table(rows)}
    for name, table in tables.items():
        page = re.sub(rf"(<!-- results:{name} -->).*?(<!-- /results:{name} -->)",
                      lambda m, t=table: m.group(1) + "\n" + t + "\n" + m.group(2), page, flags=re.S)
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--page", default=str(PAGE))
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    args = parser.parse_args(argv)
    page = Path(args.page).read_text()
    rendered = render(page, _rows(Path(args.results)))
    if args.check:
        if rendered != page:
            print(f"{args.page} is out of date with {args.results}: run experiments/render_results.py")
            return 1
        return 0
    Path(args.page).write_text(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
