"""The training plan (pure decisions) and the recipe's settings: one default, the command line built from the
fields, the learning-rate schedule in Keras equal to the plan's definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dermmodels.plan import plan_training
from dermmodels.recipe import DEFAULT_PRESET, PRESETS, Recipe, recipe_from, setting_fields

LABELS = np.array([0] * 60 + [1] * 30 + [2] * 10)


def test_one_default_everywhere():
    assert DEFAULT_PRESET == "cpu"
    assert Recipe() == PRESETS["cpu"] == recipe_from() == recipe_from(None)


def test_the_augmentation_is_stored_as_its_pipeline_so_a_saved_run_reproduces_it():
    recipe = Recipe()
    assert isinstance(recipe.augment, tuple) and recipe.augment[0]["op"] == "dihedral"
    stored = recipe.to_dict()
    assert isinstance(stored["augment"], list) and Recipe.from_dict(stored) == recipe
    assert Recipe(augment="none").pipeline() is None
    old = {**stored, "augment": "default"}  # a dermprep 0.2 config.json
    assert Recipe.from_dict(old).augment == recipe.augment
    with pytest.raises(ValueError, match="augment must be one of"):
        Recipe(augment="medium")
    with pytest.raises(TypeError, match="augment must be a name"):
        Recipe(augment=3)


def test_every_setting_is_a_command_line_option_built_from_its_field():
    from dermmodels.cli import _parser

    parser = _parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("train"))
    options = {dest for action in train._actions for dest in [action.dest]}
    assert {f.name for f in setting_fields()} <= options  # nothing listed by hand can be forgotten
    args = parser.parse_args(["train", "--data", "d", "--out", "o", "--ema", "0.999", "--fine-tune-layers", "all",
                              "--patience", "none", "--no-tta", "--teachers", "a,b", "--alpha", "0.35"])
    assert (args.ema, args.fine_tune_layers, args.patience, args.tta, args.teachers, args.alpha) == (
        0.999, None, None, False, ("a", "b"), 0.35)
    assert "epochs" not in vars(args)  # absent: the preset's value


@pytest.mark.parametrize("argv, message", [
    (["--alpha", "0.9"], "alpha must be one of"),
    (["--ema", "1.5"], "ema must be a number in"),
    (["--epochs", "many"], "--epochs must be an integer; got 'many'"),
    (["--sampling", "sideways"], "--sampling must be one of ('none', 'sqrt'"),
])
def test_bad_recipe_options_are_usage_errors(argv, message, capsys):
    from dermmodels.cli import _parser

    with pytest.raises(SystemExit) as exit_:
        _parser().parse_args(["train", "--data", "d", "--out", "o", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("settings_, message", [
    ({"epochs": 10, "restarts": 3}, "multiple of restarts"),
    ({"restarts": 2, "ema": 0.99}, "does not combine with"),
    ({"final": True}, "set tau"),
    ({"final": True, "tau": 0.5, "patience": 3}, "leave patience"),
    ({"teachers": ("run",)}, "go together"),
    ({"swa_epochs": 30}, "cannot exceed epochs"),
    ({"epochs": 4, "restarts": 2, "warmup_epochs": 2.0}, "must end within the first"),
    ({"metadata": True, "mixup": 0.2}, "does not go with"),
])
def test_settings_that_do_not_go_together_are_refused(settings_, message):
    with pytest.raises(ValueError, match=message):
        recipe_from("cpu", **settings_)


def test_plan_matches_the_sampling_and_prior():
    sqrt = plan_training(Recipe(), LABELS, 3)
    assert sqrt.targets.sum() == LABELS.size and sqrt.epoch_size == LABELS.size
    np.testing.assert_allclose(sqrt.targets / LABELS.size, np.sqrt([60, 30, 10]) / np.sqrt([60, 30, 10]).sum(),
                               atol=0.01)
    np.testing.assert_allclose(sqrt.prior, sqrt.targets / sqrt.targets.sum())
    natural = plan_training(Recipe(sampling="none"), LABELS, 3)
    assert natural.targets is None and natural.class_weight is None
    np.testing.assert_allclose(natural.prior, [0.6, 0.3, 0.1])
    weighted = plan_training(Recipe(sampling="class-weight"), LABELS, 3)
    np.testing.assert_allclose(weighted.prior, [1 / 3] * 3)
    assert weighted.class_weight[2] > weighted.class_weight[0]
    assert plan_training(Recipe(sampling="undersample"), LABELS, 3).targets.tolist() == [10, 10, 10]
    absent = plan_training(Recipe(), LABELS, 4)  # a class with no image: never drawn, prior 0
    assert absent.targets[3] == 0 and absent.prior[3] == 0


@settings(max_examples=40, deadline=None)
@given(epochs=st.integers(1, 12), restarts=st.sampled_from([1, 2, 3]), warmup=st.sampled_from([0.0, 0.5, 1.0, 20.0]),
       batch=st.sampled_from([7, 32]))
def test_the_keras_schedule_is_the_plans_learning_rate(epochs, restarts, warmup, batch):
    pytest.importorskip("tensorflow")
    from dermmodels._keras import learning_rate_schedule

    if epochs % restarts:
        epochs *= restarts
    assume(restarts == 1 or warmup < epochs / restarts)  # Recipe refuses a warm-up longer than the first cycle
    plan = plan_training(Recipe(epochs=epochs, restarts=restarts, warmup_epochs=warmup, batch_size=batch), LABELS, 3)
    schedule = learning_rate_schedule(plan, 1e-3)
    for step in sorted({0, 1, plan.warmup_steps, plan.cycle_steps, plan.total_steps - 1, plan.total_steps // 2}):
        value = float(schedule(step)) if callable(schedule) else schedule
        assert value == pytest.approx(plan.learning_rate(step, 1e-3), rel=1e-4, abs=1e-9), step
    if restarts > 1:  # the rate is back at its peak at the start of every later cycle
        assert plan.learning_rate(plan.cycle_steps, 1e-3) == pytest.approx(1e-3)


def test_plan_input_errors():
    with pytest.raises(ValueError, match="labels"):
        plan_training(Recipe(), np.array([0, 5]), 3)
    with pytest.raises(TypeError, match="recipe must be a dermmodels.Recipe"):
        plan_training("cpu", LABELS, 3)
