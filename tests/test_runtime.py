"""Good citizenship: fork-safe after use, no backend switching, caching that degrades gracefully, an install that
never brings a second TensorFlow."""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tomllib

import dermprep
from dermprep.synthetic import make_batch

ROOT = Path(__file__).resolve().parents[1]


def _hair_free_mean(images: np.ndarray) -> float:
    return float(dermprep.remove_hair(images).mean())


def test_a_fork_started_pool_works_after_the_parent_removed_hair():
    images, *_ = make_batch(4, (64, 64), seed=0)
    expected = _hair_free_mean(images)  # the parent runs a batch (worker threads, OpenCV) first
    with multiprocessing.get_context("fork").Pool(2) as pool:  # a child's batch must not wait for the
        results = pool.map_async(_hair_free_mean, [images, images]).get(timeout=300)  # parent's worker threads
    assert results == [expected, expected]


def test_a_forked_child_runs_numba_parallel_code_after_the_parent_removed_hair_from_a_batch():
    # A batch asks numba for its thread count, which starts numba's threading layer: GNU OpenMP by numba's
    # default where TBB is missing, and then a forked child running a parallel region of its own is killed
    # ("fork() called from a process already using GNU OpenMP"). dermprep prefers the fork-safe layers.
    import subprocess

    code = """
import multiprocessing, numba, numpy as np, dermprep
from dermprep.synthetic import make_batch

@numba.njit(parallel=True)
def total(x):
    s = 0.0
    for i in numba.prange(x.size):
        s += x[i]
    return s

def child(queue):
    queue.put(total(np.ones(1000)))

dermprep.remove_hair(make_batch(3, (48, 64), seed=0)[0])
context = multiprocessing.get_context("fork")
queue = context.Queue()
process = context.Process(target=child, args=(queue,))
process.start()
process.join(300)
print(process.exitcode, queue.get(timeout=5) if process.exitcode == 0 else None, numba.threading_layer())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    exitcode, result, layer = done.stdout.split()
    assert (exitcode, result) == ("0", "1000.0"), done.stderr[-2000:]
    assert layer in {"tbb", "workqueue"}


def test_plot_helpers_leave_the_matplotlib_backend_alone(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    before = matplotlib.get_backend()
    from dermprep.figures import save_panel
    from dermprep.sampling import plot_class_distribution

    save_panel(tmp_path / "p.png", [[("a", np.zeros((8, 8, 3), np.uint8))]], "t")
    plot_class_distribution({"x": [1, 2]}, ["a", "b"], tmp_path / "d.png")
    assert matplotlib.get_backend() == before
    assert "matplotlib.pyplot" not in sys.modules or before == matplotlib.get_backend()
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_kernels_compile_without_a_cache_where_none_is_writable(monkeypatch):
    import numba

    from dermprep import _jit

    real = numba.njit

    def no_locator(*args, cache=False, **kwargs):
        if cache:
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return real(*args, cache=cache, **kwargs)

    monkeypatch.setattr(_jit.numba, "njit", no_locator)
    monkeypatch.setattr(_jit, "_WARNED", [])
    with pytest.warns(RuntimeWarning, match="NUMBA_CACHE_DIR"):
        square = _jit.jit()(lambda x: x * x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per process, not one per kernel
        _jit.jit()(lambda x: x + 1)
    assert square(3) == 9


def test_the_tf_extra_asks_for_tensorflow_itself_never_a_second_build():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    tf_extra = project["optional-dependencies"]["tf"]
    names = [r.split(";")[0].split(">")[0].split("=")[0].strip() for r in tf_extra]
    assert "tensorflow" in names and "tensorflow-cpu" not in names
    core = [r.split(">")[0] for r in project["dependencies"]]
    assert not {"scipy", "scikit-image", "scikit-learn", "matplotlib", "tensorflow"} & set(core)
    assert project["urls"]["Documentation"].startswith("https://")


class _Usage(ValueError):
    pass


@pytest.mark.parametrize(("error", "status", "line"), [
    (None, 0, None),
    (_Usage("--a and --b go together"), 2, "prog cmd: error: --a and --b go together"),
    (ModuleNotFoundError("No module named 'skimage'", name="skimage"), 2, 'pip install "dermprep[quality]"'),
    (FileNotFoundError("no such folder: x"), 1, "prog cmd: error: no such folder: x"),
    (KeyboardInterrupt(), 130, "prog cmd: interrupted"),
])
def test_run_command_turns_expected_failures_into_one_line_and_a_status(capsys, error, status, line):
    from dermprep.runtime import run_command

    def action() -> int:
        if error is not None:
            raise error
        return 0

    assert run_command("prog", "cmd", action, usage_errors=(_Usage,)) == status
    err = capsys.readouterr().err
    assert (line is None and err == "") or (line in err and err.count("\n") == 1), err


def test_run_command_keeps_the_traceback_of_a_bug():
    from dermprep.runtime import run_command

    with pytest.raises(ZeroDivisionError):
        run_command("prog", "cmd", lambda: 1 // 0)
    with pytest.raises(ImportError):  # an ImportError that is not a missing extra is a bug
        run_command("prog", "cmd", lambda: (_ for _ in ()).throw(ImportError("cannot import name 'x' from 'y'")))


@pytest.mark.parametrize(("parse", "text", "value"), [("fraction", "0.25", 0.25), ("positive_float", "1e-3", 1e-3),
                                                     ("count_or_auto", "0", 0), ("count_or_auto", "12", 12),
                                                     ("count_or_auto", "auto", "auto")])
def test_number_argtypes_accept(parse, text, value):
    from dermprep import argtypes

    assert getattr(argtypes, parse)(text) == value


@pytest.mark.parametrize(("parse", "text"), [("fraction", "1"), ("fraction", "-0.1"), ("fraction", "x"),
                                             ("fraction", "nan"), ("positive_float", "0"), ("positive_float", "inf"),
                                             ("positive_float", "nan"), ("positive_float", "one"),
                                             ("count_or_auto", "-1"), ("count_or_auto", "Auto"),
                                             ("count_or_auto", "2.5")])
def test_number_argtypes_refuse_with_what_was_expected(parse, text):
    import argparse

    from dermprep import argtypes

    with pytest.raises(argparse.ArgumentTypeError, match=f"expected .*; got '{text}'"):
        getattr(argtypes, parse)(text)
