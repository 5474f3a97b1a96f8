"""The ablation and the headline runs, one ``ham10000_recipe.py`` call per row, skipping rows already in the table.

Usage (from the repository root)::

    .venv/bin/python experiments/ablation.py [--only NAME ...] [--list]

Every ablation row is the ``cpu`` preset at one reduced budget (160x160, 10 epochs: about 10 minutes on
the 2-core machine) with one setting changed, so rows differ by that setting only; the headline rows are
the full ``cpu`` preset. Rows run one after the other (each in its own process) and append to
``experiments/results/ham10000.jsonl``; ``experiments/render_results.py`` turns that into the docs' tables.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ham10000.jsonl"

#: The reduced budget every ablation row shares. The rows were run when the cpu preset still removed hair,
#: so the baseline keeps it on (each row's recorded recipe lists every setting).
BUDGET = {"image_size": 160, "epochs": 10, "remove_hair": True}

#: (name, seed, settings changed from the budget) for the ablation.
ABLATION: list[tuple[str, int, dict[str, object]]] = [
    ("budget: cpu recipe", 0, {}),
    ("budget: cpu recipe", 1, {}),
    ("budget: no hair removal", 0, {"remove_hair": False}),
    ("budget: no hair removal", 1, {"remove_hair": False}),
    ("budget: no augmentation", 0, {"augment": "none"}),
    ("budget: strong augmentation", 0, {"augment": "strong"}),
    ("budget: no resampling (natural frequencies)", 0, {"sampling": "none"}),
    ("budget: oversample (classes equally often)", 0, {"sampling": "oversample"}),
    ("budget: undersample", 0, {"sampling": "undersample"}),
    ("budget: class weights", 0, {"sampling": "class-weight"}),
    ("budget: Shades of Gray", 0, {"shades_of_gray": True}),
    ("budget: alpha 0.35", 0, {"alpha": 0.35}),
    ("budget: stretch instead of crop", 0, {"aspect": "stretch"}),
    ("budget: 128x128", 0, {"image_size": 128}),
    ("budget: 192x192", 0, {"image_size": 192}),
    ("budget: head only (frozen base)", 0, {"fine_tune_layers": 0, "learning_rate": 1e-3}),
    ("budget: top 50 layers fine-tuned", 0, {"fine_tune_layers": 50}),
    ("budget: no label smoothing", 0, {"label_smoothing": 0.0}),
    ("budget: with the metadata branch (age, sex, site)", 0, {"metadata": True}),
]

#: The headline recipe at full budget (the cpu preset as it is).
HEADLINE: list[tuple[str, int, dict[str, object]]] = [
    ("cpu preset", 0, {}),
    ("cpu preset", 1, {}),
    ("cpu preset with hair removal", 0, {"remove_hair": True}),
]


def _done(results: Path) -> set[tuple[str, int]]:
    if not results.is_file():
        return set()
    return {(row["name"], row["seed"]) for row in map(json.loads, results.read_text().splitlines()) if row}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="run only rows with these names")
    parser.add_argument("--list", action="store_true", help="print the rows and whether they are done")
    parser.add_argument("--results", default=str(RESULTS), help="the results table (JSON lines)")
    parser.add_argument("--hair-cache", default=str(HERE / "out" / "hair-cache"),
                        help="hair-removal cache shared by the ablation rows (the headline builds its own)")
    args = parser.parse_args(argv)
    rows = [(name, seed, {**BUDGET, **change}, True) for name, seed, change in ABLATION]
    rows += [(name, seed, change, False) for name, seed, change in HEADLINE]
    done = _done(Path(args.results))
    failures = 0
    for name, seed, settings, ablation in rows:
        if args.only is not None and name not in args.only:
            continue
        if args.list or (name, seed) in done:
            print(f"{'done' if (name, seed) in done else 'todo'}  {name} (seed {seed}) {settings}")
            continue
        command = [sys.executable, str(HERE / "ham10000_recipe.py"), "--name", name, "--seed", str(seed),
                   "--out", str(HERE / "out" / f"{name.replace(' ', '_').replace(':', '').replace('/', '-')}-{seed}"),
                   "--results", args.results]
        if ablation:
            command += ["--hair-cache", args.hair_cache]
        for key, value in settings.items():
            command += ["--set", f"{key}={json.dumps(value)}"]
        print("running:", " ".join(command), flush=True)
        code = subprocess.run(command, check=False).returncode
        if code != 0:  # negative: killed by that signal (e.g. -9, the kernel's out-of-memory killer)
            print(f"failed: {name} (seed {seed}), exit status {code}", flush=True)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
