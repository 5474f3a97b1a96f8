"""Benchmark fixtures and the end-of-run ratio table (ours vs references, same run)."""

from __future__ import annotations

import pytest

from dermprep.synthetic import make_batch

RESULTS: dict[str, float] = {}


@pytest.fixture(scope="session")
def hairy_600x450():
    """32 seeded 600x450 synthetic images with hair, as in the issue's targets."""
    return make_batch(32, (450, 600), seed=0)


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    terminalreporter.section("dermprep: images/s and ratios (this run)")
    for name, value in RESULTS.items():
        terminalreporter.write_line(f"{name:62s} {value:10.3f}")
    balanced, plain, rejection = (RESULTS.get(k) for k in (
        "dermprep balance elements/s", "plain iteration elements/s", "tf rejection_resample elements/s"))
    if balanced and plain:
        terminalreporter.write_line(f"{'balance / plain iteration':45s} {balanced / plain:10.2f}x")
    if balanced and rejection:
        terminalreporter.write_line(f"{'balance / rejection_resample':45s} {balanced / rejection:10.2f}x")
    aug = RESULTS.get("augment: dermprep default images/s")
    for key, label in (("augment: albumentations via numpy_function images/s", "augment / albumentations"),
                       ("augment: albumentations, one numpy_function per batch of 32, images/s",
                        "augment / albumentations (batch form)"),
                       ("augment: keras preprocessing layers images/s", "augment / keras layers")):
        if aug and RESULTS.get(key):
            terminalreporter.write_line(f"{label:45s} {aug / RESULTS[key]:10.2f}x")
    batched = RESULTS.get("augment: dermprep default on batches of 32, images/s")
    album = RESULTS.get("augment: albumentations, one numpy_function per batch of 32, images/s")
    if batched and album:
        terminalreporter.write_line(f"{'augment on batches / albumentations (both batch form)':45s} "
                                    f"{batched / album:10.2f}x")
    ours = RESULTS.get("dullrazor batch images/s")
    best = max((v for k, v in RESULTS.items() if k.startswith("opencv") and k.endswith("images/s")), default=None)
    if ours and best:
        terminalreporter.write_line(f"{'dullrazor / best OpenCV':45s} {ours / best:10.2f}x")
