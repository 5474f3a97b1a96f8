"""CI: check that `make demo` wrote what the README promises: demo-output/report.html with its figures embedded,
the figure files themselves, and a summary with finite headline metrics. Exit 1 with the reason otherwise."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

FIGURES = ("figures/hair_removal_synthetic.png", "figures/hair_removal_dataset.png", "figures/augmentation.png",
           "figures/class_distribution.png", "evaluation/confusion_matrix.png", "evaluation/training_curves.png",
           "evaluation/sample_predictions.png")
SECTIONS = ("Hair removal", "Augmentation", "Training", "Evaluation", "TFLite")


def problems(out: Path) -> list[str]:
    found = []
    report = out / "report.html"
    if not report.is_file():
        return [f"{report} was not written"]
    page = report.read_text()
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    if len(embedded) < len(FIGURES):
        found.append(f"report.html embeds {len(embedded)} figures; expected at least {len(FIGURES)}")
    found += [f"report.html has no '{s}' section" for s in SECTIONS if s not in page]
    for name in FIGURES:
        path = out / name
        if not path.is_file() or path.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            found.append(f"{path} is missing or not a PNG")
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
    metrics = summary.get("metrics", {})
    for key in ("accuracy", "balanced_accuracy"):
        if not isinstance(metrics.get(key), float) or not math.isfinite(metrics[key]):
            found.append(f"summary.json metrics.{key} is {metrics.get(key)!r}")
    if not summary.get("hair_removal", {}).get("quality"):
        found.append("the hair-removal quality table is empty (make demo installs the quality extra)")
    return found


if __name__ == "__main__":
    out = Path(sys.argv[1])
    found = problems(out)
    for problem in found:
        print(f"demo output check: {problem}", file=sys.stderr)
    if not found:
        print(f"demo output check: {out / 'report.html'} and its {len(FIGURES)} figures are there")
    sys.exit(1 if found else 0)
