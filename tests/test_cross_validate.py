"""Experiments (mate_hf.experiments: cross_validation, report, arguments): experiment files, aggregation, tables and
plots.

The end-to-end test trains a tiny MATE on the demo corpus: 2 settings x 2 session folds, 1 epoch each.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from mate_hf import results as tables
from mate_hf.experiments import arguments, report
from mate_hf.experiments import cross_validation as cross_validate

ROOT = Path(__file__).resolve().parents[1]

PAPER_HEADER = "| setting | precision@1 | recall@1 | F1@1 | CCC(A) | CCC(V) |"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SETTINGS = ("audio+text", "text")


# --- aggregation and tables, on hand-made numbers ---------------------------------------------------------------


def test_mean_and_std_is_the_sample_deviation():
    mean, std = report.mean_and_std([0.70, 0.72, 0.74])
    assert mean == pytest.approx(0.72)
    assert std == pytest.approx(0.02)  # n - 1: population std would be 0.0163
    assert report.mean_and_std([0.5]) == (0.5, None)
    with pytest.raises(ValueError):
        report.mean_and_std([])


def test_format_value():
    assert tables.format_value(0.71449, 0.0204) == "0.714 ± 0.020"
    assert tables.format_value(0.5) == "0.500"
    assert tables.format_value(-0.00004) == "0.000"
    assert tables.format_value(-0.25, 0.01) == "-0.250 ± 0.010"
    assert tables.format_value(None) == "—"


def _run(setting: str, split: str, precision: float, recall: float, f1: float, ccc_a: float, ccc_v: float):
    metrics = dict(zip((f"eval_{key}" for key in tables.PAPER_TABLE), (precision, recall, f1, ccc_a, ccc_v)))
    return report.Run(setting=setting, split=split, folder=Path(split), metrics=metrics)


def test_summarize_and_paper_table_from_hand_made_runs():
    runs = {
        "audio+text": [
            _run("audio+text", "fold0", 0.8, 0.6, 0.7, 0.5, 0.9),
            _run("audio+text", "fold1", 0.6, 0.4, 0.5, 0.3, 0.7),
        ],
        "text": [_run("text", "fold0", 0.75, 0.5, 0.6, -0.1, 0.25)],
    }
    summaries = {name: report.summarize(setting_runs) for name, setting_runs in runs.items()}
    assert summaries["audio+text"]["num_runs"] == 2
    assert summaries["audio+text"]["mean"]["eval_f1_at_1_batch64"] == pytest.approx(0.6)
    assert summaries["audio+text"]["std"]["eval_f1_at_1_batch64"] == pytest.approx(np.std([0.7, 0.5], ddof=1))
    assert summaries["text"]["std"]["eval_f1_at_1_batch64"] is None
    table = report.settings_table(tables.PAPER_TABLE, summaries)
    assert table == (
        "| setting | precision@1 | recall@1 | F1@1 | CCC(A) | CCC(V) |\n"
        "|---|---|---|---|---|---|\n"
        "| audio+text | 0.700 ± 0.141 | 0.500 ± 0.141 | 0.600 ± 0.141 | 0.400 ± 0.141 | 0.800 ± 0.141 |\n"
        "| text | 0.750 | 0.500 | 0.600 | -0.100 | 0.250 |"
    )


def test_published_reference_table_is_the_spec_table():
    table = tables.markdown_table(tables.PUBLISHED_HEADER, tables.PUBLISHED_ROWS)
    spec = ROOT.parent / "shared" / "SPEC.md"
    if spec.is_file():
        assert table in spec.read_text(encoding="utf-8")
    assert (
        table.splitlines()[5]
        == "| Speaker, 5-fold mean (λ=0.75) | 0.728 | 0.702 | 0.714 ± 0.020 | 0.778 ± 0.015 | 0.848 ± 0.023 |"
    )
    # Like with like: our table's columns are the published ones, and they hold the per-batch-of-64 values.
    assert tables.PUBLISHED_HEADER[1:] == tuple(tables.METRICS[key].title for key in tables.PAPER_TABLE)
    assert tables.PAPER_TABLE[:3] == ("precision_at_1_batch64", "recall_at_1_batch64", "f1_at_1_batch64")
    # precision@1 >= recall@1 in every published row that has them.
    for row in tables.PUBLISHED_ROWS:
        if row[1] != "—":
            assert float(row[1]) >= float(row[2]), row


# --- experiment files ---------------------------------------------------------------------------------------


def test_command_line_and_setting_layers():
    parsed = arguments.parse_command_line(
        ["--kemdy19_dir", "/data", "--folds=0,2", "--rerun", "--label_names", "a", "b", "--model.loss_lambda", "0.75"]
        + ["--model.audio_conv_channels", "[4, 6, 4, 1]", "--model.concat_emotion", "false"]
    )
    assert parsed == {
        "kemdy19_dir": "/data",
        "folds": "0,2",
        "rerun": True,
        "label_names": ["a", "b"],
        "model": {"loss_lambda": 0.75, "audio_conv_channels": [4, 6, 4, 1], "concat_emotion": False},
    }
    with pytest.raises(ValueError):
        arguments.parse_command_line(["stray"])
    with pytest.raises(ValueError, match="only model settings are dotted"):
        arguments.parse_command_line(["--data.role", "speaker"])
    merged = arguments.merge_settings(
        {"model": {"max_duration": 3.0, "text_config": {"hidden_size": 256, "num_hidden_layers": 2}}, "seed": 1},
        {"model": {"text_config": {"hidden_size": 32}}, "text_encoder": None, "seed": 2},
    )
    assert merged == {
        "model": {"max_duration": 3.0, "text_config": {"hidden_size": 32, "num_hidden_layers": 2}},
        "seed": 2,
    }
    assert arguments.to_argv({"cache_audio_features": False, "seed": 2, "label_names": ["a", "b"]}) == [
        "--cache_audio_features",
        "false",
        "--label_names",
        "a",
        "b",
        "--seed",
        "2",
    ]
    grid = cross_validate.expand_grid(
        {"cb": {"model": {"loss_type": "class_balanced"}}}, {"model.loss_lambda": [0.5, 0.9], "seed": [1]}
    )
    assert grid == {
        "cb,lambda=0.5,seed=1": {"model": {"loss_type": "class_balanced", "loss_lambda": 0.5}, "seed": 1},
        "cb,lambda=0.9,seed=1": {"model": {"loss_type": "class_balanced", "loss_lambda": 0.9}, "seed": 1},
    }


def test_run_arguments_from_a_mapping_and_their_errors():
    parsed = arguments.run_arguments(
        {"kemdy19_dir": "x", "num_train_epochs": 3, "model": {"lstm_hidden_size": 64}, "output_dir": "out"}
    )
    assert parsed.data.kemdy19_dir == "x" and parsed.training.num_train_epochs == 3
    assert parsed.model_settings == {"lstm_hidden_size": 64}
    with pytest.raises(ValueError, match=r"unknown model settings \['lstm_size'\]"):
        arguments.run_arguments({"model": {"lstm_size": 64}}, source="my.yaml")
    with pytest.raises(ValueError, match=r"my.yaml: unknown run arguments \['epochs'\]"):
        arguments.run_arguments({"epochs": 3}, source="my.yaml")


def test_settings_of_the_old_form_still_work_with_a_warning():
    """Before model settings were a mapping: a JSON string in `config_overrides`, and model settings at the top."""
    old = {"config_overrides": '{"lstm_hidden_size": 64, "text_config": {"hidden_size": 32}}', "loss_lambda": 0.75}
    with pytest.warns(FutureWarning) as warned:
        parsed = arguments.run_arguments({**old, "output_dir": "out"})
    messages = sorted(str(warning.message) for warning in warned)
    assert len(messages) == 2 and "'config_overrides'" in messages[0] and "model.loss_lambda" in messages[1]
    assert parsed.model_settings == {"lstm_hidden_size": 64, "text_config": {"hidden_size": 32}, "loss_lambda": 0.75}
    with pytest.warns(FutureWarning, match="model.loss_lambda"):
        assert arguments.merge_settings({"loss_lambda": 0.5}) == {"model": {"loss_lambda": 0.5}}


def test_precedence_and_split_keys(tmp_path):
    experiment_file = tmp_path / "experiment.yaml"
    experiment_file.write_text(
        yaml.safe_dump(
            {
                "base": str(ROOT / "training" / "configs" / "demo.yaml"),
                "overrides": {"num_train_epochs": 3, "seed": 7},
                "settings": {"a": {"seed": 9}, "b": {}},
            }
        )
    )
    experiment = cross_validate.load_experiment(experiment_file, {"seed": "8", "num_train_epochs": "2", "folds": "1,3"})
    assert experiment.mode == "cv" and [split.name for split in experiment.splits] == ["fold1", "fold3"]
    assert experiment.settings["a"]["seed"] == 9  # the setting wins over the command line
    assert experiment.settings["b"]["seed"] == "8"  # the command line wins over base and overrides
    assert experiment.settings["b"]["num_train_epochs"] == "2"
    assert "fold" not in experiment.settings["b"] and "output_dir" not in experiment.settings["b"]
    settings = cross_validate.run_settings(experiment, "b", experiment.splits[1])
    assert settings["fold"] == 3
    assert settings["output_dir"] == str(Path("outputs/experiments/experiment/b/fold3"))

    sweep = cross_validate.load_experiment(experiment_file, {"mode": "sweep", "eval_sessions": "4-5"})
    assert [split.name for split in sweep.splits] == ["eval4-5"]
    with pytest.raises(ValueError, match="fold"):
        cross_validate.load_experiment(experiment_file, {"folds": "5"})
    with pytest.raises(ValueError, match="settings"):
        cross_validate.load_experiment(experiment_file, {"settings": "c"})


@pytest.mark.parametrize(
    "path", sorted(p for p in (ROOT / "training/configs/experiments").glob("*.yaml") if not p.stem.endswith("_base"))
)
def test_shipped_experiments_resolve_and_parse(path, demo_kemdy19):
    experiment = cross_validate.load_experiment(path, {"kemdy19_dir": str(demo_kemdy19)})
    cross_validate.check_experiment(experiment)  # every run's arguments parse with training/run.py's parser
    assert experiment.settings


def test_placeholder_corpus_path_fails_before_training():
    path = ROOT / "training/configs/experiments/kemdy19_speaker_cv.yaml"
    with pytest.raises(FileNotFoundError, match="--kemdy19_dir"):
        cross_validate.check_experiment(cross_validate.load_experiment(path))


# --- end to end: 2 settings x 2 folds of a tiny model ---------------------------------------------------------


@pytest.fixture(scope="module")
def finished_experiment(tmp_path_factory, tiny_run_settings, demo_kemdy19):
    folder = tmp_path_factory.mktemp("cv")
    experiment_file = folder / "tiny_cv.yaml"
    experiment_file.write_text(
        yaml.safe_dump(
            {
                "base": str(ROOT / "training" / "configs" / "demo.yaml"),
                "mode": "cv",
                "overrides": {
                    "model": {**tiny_run_settings["model"], "freeze_text_encoder": True},
                    "num_train_epochs": 1,
                    "per_device_train_batch_size": 8,
                    "logging_steps": 1,
                },
                "settings": {name: {"model": {"modalities": name}} for name in SETTINGS},
            },
            allow_unicode=True,
        )
    )
    output_dir = folder / "out"
    results = cross_validate.main(
        [str(experiment_file), "--output_dir", str(output_dir), "--kemdy19_dir", str(demo_kemdy19), "--folds", "0,1"]
    )
    return output_dir, results


def test_results_json_has_every_run_and_the_fold_statistics(finished_experiment):
    output_dir, results = finished_experiment
    assert json.loads((output_dir / "results.json").read_text(encoding="utf-8")) == json.loads(json.dumps(results))
    assert sorted((run["setting"], run["split"]) for run in results["runs"]) == [
        (setting, split) for setting in sorted(SETTINGS) for split in ("fold0", "fold1")
    ]
    for setting in SETTINGS:
        summary = results["settings"][setting]
        assert summary["num_runs"] == 2
        keys = ("eval_f1_at_1_batch64", "eval_recall_at_1_batch64", "eval_f1_at_2", "eval_topk_confusion_f1")
        for key in (*keys, "eval_ccc_arousal", "eval_accuracy", "eval_macro_f1"):
            values = [run["metrics"][key] for run in results["runs"] if run["setting"] == setting]
            assert summary["mean"][key] == pytest.approx(np.mean(values))
            assert summary["std"][key] == pytest.approx(np.std(values, ddof=1))
        for metrics in (run["metrics"] for run in results["runs"] if run["setting"] == setting):
            assert metrics["eval_precision_at_1_batch64"] >= metrics["eval_recall_at_1_batch64"]
        counts = np.array(summary["confusion_matrix_topk"])
        assert counts.shape == (7, 7) and counts.sum() > 0
        for fold in ("fold0", "fold1"):
            run_folder = output_dir / setting / fold
            assert (run_folder / "trainer_state.json").is_file() and (run_folder / "cv_run.json").is_file()


def test_results_markdown_has_the_spec_table(finished_experiment):
    output_dir, _ = finished_experiment
    markdown = (output_dir / "results.md").read_text(encoding="utf-8")
    lines = markdown.splitlines()
    start = lines.index(PAPER_HEADER)
    assert lines[start + 1] == "|---|---|---|---|---|---|"
    rows = lines[start + 2 : start + 2 + len(SETTINGS)]
    cell = r"-?\d\.\d{3} ± \d\.\d{3}"
    for setting, row in zip(SETTINGS, rows):
        assert re.fullmatch(rf"\| {re.escape(setting)}( \| {cell}){{5}} \|", row), row
    assert "| setting | precision@1 | recall@1 | F1@1 | precision@2 | recall@2 | F1@2 |" in lines
    assert "| setting | macro precision | macro recall | F1 |" in lines
    assert "| setting | Accuracy | Macro-F1 | Weighted-F1 |" in lines
    assert "sample standard deviation" in markdown
    assert tables.markdown_table(tables.PUBLISHED_HEADER, tables.PUBLISHED_ROWS) in markdown


def test_plots_are_png_files(finished_experiment):
    output_dir, results = finished_experiment
    for setting in SETTINGS:
        plots = results["settings"][setting]["plots"]
        assert set(plots) == {"confusion_matrix", "arousal_valence", "learning_curves"}
        for relative in plots.values():
            data = (output_dir / relative).read_bytes()
            assert data[:8] == PNG_SIGNATURE
            assert len(data) > 10_000


def test_report_regenerates_the_tables_from_the_run_folders(finished_experiment, monkeypatch, demo_kemdy19):
    output_dir, _ = finished_experiment
    markdown = (output_dir / "results.md").read_text(encoding="utf-8")
    results = (output_dir / "results.json").read_text(encoding="utf-8")
    (output_dir / "results.md").unlink()
    (output_dir / "results.json").unlink()
    report.main([str(output_dir)])
    assert (output_dir / "results.md").read_text(encoding="utf-8") == markdown
    assert (output_dir / "results.json").read_text(encoding="utf-8") == results

    # Finished runs are reused, not trained again.
    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(cross_validate, "run", no_training)
    experiment = cross_validate.load_experiment(
        output_dir.parent / "tiny_cv.yaml",
        {"output_dir": str(output_dir), "kemdy19_dir": str(demo_kemdy19), "folds": "0,1"},
    )
    record = cross_validate.run_one(experiment, "text", experiment.splits[0])
    assert record["setting"] == "text" and record["split"] == "fold0"
