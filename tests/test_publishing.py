"""`mate-hf publish` (mate_hf.hub): the staged folder, its model card, loading it as remote code, the upload, the
safety scan, and the deprecated `mate_hf.publishing`.

The fixture `trained_folder` looks like a `training/run.py` output folder: a tiny MATE saved with
`save_mate_folder`, plus the JSON files training writes (`eval_results.json` with the numbers below,
`data_report.json` whose corpus root is a small synthetic corpus made here, `eval_predictions.jsonl`) and the
training leftovers that must never be published (`training_args.bin`, `trainer_state.json`, a checkpoint, caches).
"""

import importlib
import inspect
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml
from huggingface_hub import HfApi, ModelCard

from mate_hf import EMOTION_LABELS, MateModel, MateProcessor, load_mate_pipeline, save_mate_folder
from mate_hf.cli import main
from mate_hf.hub import (
    DEFAULT_TEMPLATE,
    FORBIDDEN_NAMES,
    build_model_card,
    default_template,
    scan_staged_folder,
    stage,
    upload,
    widget_output,
)
from mate_hf.results import METRICS, MODEL_INDEX_METRICS

REPO_ID = "someone/mate-tiny"
# eval_results.json as `trainer.save_metrics("eval", ...)` writes it: the metrics with an "eval_" prefix, plus
# loss and speed entries that are not evaluation results. Many digits, so any rounding on the way shows.
EVAL_RESULTS = {
    "eval_accuracy": 0.4123456789012345,
    "eval_ccc_arousal": 0.5432109876543211,
    "eval_ccc_valence": -0.0123456789012345,
    "eval_loss": 1.1928836107254028,
    "eval_macro_f1": 0.2987654321098765,
    "eval_f1_at_1": 0.4567890123456789,
    "eval_f1_at_1_batch64": 0.3456789012345678,
    "eval_f1_at_2": 0.4012345678901234,
    "eval_precision_at_1": 0.4654321098765432,
    "eval_precision_at_1_batch64": 0.3576543210987654,
    "eval_precision_at_2": 0.3123456789012345,
    "eval_recall_at_1": 0.4487654321098765,
    "eval_recall_at_1_batch64": 0.3345678901234567,
    "eval_recall_at_2": 0.5598765432109876,
    "eval_runtime": 2.0404,
    "eval_samples_per_second": 1.96,
    "eval_steps_per_second": 0.49,
    "eval_weighted_f1": 0.3698765432109876,
}
# The model-index names of the metrics above, as the card has always called them.
METRIC_NAMES = {
    "precision_at_1_batch64": "Precision@1 (per batch of 64, as published)",
    "recall_at_1_batch64": "Recall@1 (per batch of 64, as published)",
    "f1_at_1_batch64": "F1@1 (per batch of 64, as published)",
    "precision_at_1": "Precision@1 (whole set)",
    "recall_at_1": "Recall@1 (whole set)",
    "f1_at_1": "F1@1 (whole set)",
    "precision_at_2": "Precision@2 (whole set)",
    "recall_at_2": "Recall@2 (whole set)",
    "f1_at_2": "F1@2 (whole set)",
    "ccc_arousal": "CCC arousal",
    "ccc_valence": "CCC valence",
    "accuracy": "Accuracy (argmax)",
    "macro_f1": "Macro-F1 (argmax)",
    "weighted_f1": "Weighted-F1 (argmax)",
}
# Evaluated utterances in eval_predictions.jsonl order; the first has no audio on disk (skipped, as a missing wav
# of the corpus would be); the next three become the widget examples; the fifth is one too many.
SEGMENTS = [
    "Sess05_script01_F001",
    "Sess05_script01_M002",
    "Sess05_script01_F003",
    "Sess05_impro01_M001",
    "Sess05_impro01_F002",
]
RAW_TRANSCRIPTS = ["c/ 정말 기뻐요 (웃음)", "왜 이렇게 화나게 해 +", "n/ 너무 슬프고 외로워요", "오늘은 날씨가 맑네요"]
CLEAN_TRANSCRIPTS = ["정말 기뻐요", "왜 이렇게 화나게 해", "너무 슬프고 외로워요", "오늘은 날씨가 맑네요"]
STAGED_MODEL_FILES = {
    "README.md",
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "processor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "audio_io.py",
    "configuration_mate.py",
    "feature_extraction_mate.py",
    "modeling_mate.py",
    "pipeline_mate.py",
    "processing_mate.py",
    "voice_activity.py",
}


@pytest.fixture(scope="module")
def write_audio(make_dialogue, sampling_rate):
    """`write(folder, names, seed=0)`: a synthetic utterance per name (0.3–1.5 s; the format from the suffix)."""

    def write(folder: Path, names: list[str], seed: int = 0) -> list[Path]:
        audio, _ = make_dialogue(len(names), seed)
        paths = [folder / name for name in names]
        for path, waveform in zip(paths, audio):
            path.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(path, waveform, sampling_rate)
        return paths

    return write


def _write_corpus(root: Path, write_audio) -> None:
    """A KEMDy19-shaped corpus of four recordings (the first segment's wav is missing) with raw transcripts."""
    root.mkdir(parents=True)
    (root.parent / "manifest.json").write_text(json.dumps({"synthetic": True}))  # as the bundled demo corpus says
    folders = [root / "wav" / "Session05" / segment.rsplit("_", 1)[0] for segment in SEGMENTS[1:]]
    names = [str(folder.relative_to(root) / f"{segment}.wav") for folder, segment in zip(folders, SEGMENTS[1:])]
    for path, text in zip(write_audio(root, names, seed=3), RAW_TRANSCRIPTS):
        path.with_suffix(".txt").write_text(text, encoding="utf-8")


def _write_training_files(folder: Path, corpus: Path) -> None:
    (folder / "eval_results.json").write_text(json.dumps(EVAL_RESULTS, indent=4))
    report = {
        "eval_sessions": ["Session05"],
        "train_sessions": ["Session01", "Session02", "Session03", "Session04"],
        "reports": {"kemdy19": {"corpus": "KEMDy19", "role": "speaker", "root": str(corpus), "rows_used": 194}},
    }
    (folder / "data_report.json").write_text(json.dumps(report, indent=2))
    lines = [json.dumps({"segment_id": segment, "arousal": 3.0, "valence": 3.0}) for segment in SEGMENTS]
    (folder / "eval_predictions.jsonl").write_text("\n".join(lines) + "\n")
    # Training leftovers: never to be published.
    (folder / "training_args.bin").write_bytes(b"\x80\x04pickle")
    (folder / "trainer_state.json").write_text(json.dumps({"log_history": [], "best_model_checkpoint": str(folder)}))
    (folder / "checkpoint-10").mkdir()
    (folder / "checkpoint-10" / "optimizer.pt").write_bytes(b"\x80\x04pickle")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "modeling_mate.cpython-311.pyc").write_bytes(b"\x00compiled")


@pytest.fixture(scope="module")
def make_model_folder(build_tiny_mate):
    """`make(folder)`: a tiny MATE saved with `save_mate_folder`, as `training/run.py` leaves it, minus the
    training-only files. initializer_range 0.5 makes untrained outputs far from uniform: the widget's ranking is
    clear."""
    return lambda folder: save_mate_folder(folder, *build_tiny_mate(initializer_range=0.5))


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, make_model_folder, write_audio) -> Path:
    base = tmp_path_factory.mktemp("run")
    corpus = base / "corpus" / "KEMDy19"
    _write_corpus(corpus, write_audio)
    folder = make_model_folder(base / "output")
    _write_training_files(folder, corpus)
    return folder


@pytest.fixture(scope="module")
def staged(trained_folder, tmp_path_factory) -> Path:
    return stage(trained_folder, tmp_path_factory.mktemp("staging") / "staged", REPO_ID)


@pytest.fixture(scope="module")
def pipe(trained_folder):
    return load_mate_pipeline(trained_folder)


@pytest.fixture(scope="module")
def card(staged) -> ModelCard:
    return ModelCard.load(staged / "README.md")


def _example_names() -> list[str]:
    return [f"{segment}.wav" for segment in SEGMENTS[1:4]]


def _relative_files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_staged_folder_holds_exactly_what_the_repo_needs(trained_folder, staged):
    examples = set(_example_names()) | {name.replace(".wav", ".txt") for name in _example_names()}
    assert _relative_files(staged) == STAGED_MODEL_FILES | examples
    for name in STAGED_MODEL_FILES - {"README.md"}:
        assert (staged / name).read_bytes() == (trained_folder / name).read_bytes(), name
    config = json.loads((staged / "config.json").read_text())
    assert config["auto_map"]["AutoModel"] == "modeling_mate.MateModel"
    assert config["custom_pipelines"]["mate-emotion-recognition"]["impl"] == "pipeline_mate.MateEmotionPipeline"
    assert [(staged / name.replace(".wav", ".txt")).read_text().strip() for name in _example_names()] == (
        CLEAN_TRANSCRIPTS[:3]
    )
    scan_staged_folder(staged, local_paths=[trained_folder])  # no exception: the clean folder passes


def _dialogue() -> tuple[list[np.ndarray], list[str]]:
    """A fixed two-utterance dialogue at 16 kHz, rebuilt identically in the subprocess."""
    t1, t2 = np.arange(16000) / 16000, np.arange(24000) / 16000
    audio = [
        (0.3 * np.sin(2 * np.pi * 220 * t1)).astype(np.float32),
        (0.2 * np.sin(2 * np.pi * 440 * t2)).astype(np.float32),
    ]
    return audio, CLEAN_TRANSCRIPTS[:2]


def test_staged_folder_loads_as_remote_code_and_matches_the_package(trained_folder, staged, pipe, tmp_path):
    examples = [(name, text) for name, text in zip(_example_names(), CLEAN_TRANSCRIPTS)]
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["mate_hf"] = None  # `import mate_hf` fails, as for a user who never installed it
        import numpy as np, torch
        from transformers import AutoModel, AutoProcessor, pipeline
        folder, examples = {str(staged)!r}, {examples!r}
        model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
        processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
        pipe = pipeline(model=folder, trust_remote_code=True)
        modules = [type(model).__module__, type(processor).__module__, type(pipe).__module__]
        assert not any(module.startswith("mate_hf") for module in modules), modules
        CLEAN_TRANSCRIPTS = {CLEAN_TRANSCRIPTS!r}
        {textwrap.indent(inspect.getsource(_dialogue), " " * 8).strip()}
        audio, text = _dialogue()
        with torch.no_grad():
            logits = model(**processor(audio=audio, text=text, sampling_rate=16000)).logits
        results = [pipe(folder + "/" + name, transcript=text) for name, text in examples]
        print(json.dumps({{"logits": logits.tolist(), "results": results}}))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    remote = json.loads(run.stdout.strip().splitlines()[-1])
    model = MateModel.from_pretrained(trained_folder).eval()
    audio, text = _dialogue()
    with torch.no_grad():
        expected = model(**MateProcessor.from_pretrained(trained_folder)(audio=audio, text=text, sampling_rate=16000))
    assert np.abs(np.asarray(remote["logits"]) - expected.logits.numpy()).max() < 1e-6
    for result, (name, text) in zip(remote["results"], examples):
        installed = pipe(str(staged / name), transcript=text)
        scores = {entry["label"]: entry["score"] for entry in installed["emotions"]}
        assert max(abs(entry["score"] - scores[entry["label"]]) for entry in result["emotions"]) < 1e-6
        assert abs(result["arousal"] - installed["arousal"]) < 1e-6
        assert abs(result["valence"] - installed["valence"]) < 1e-6


def _front_matter(readme: Path) -> dict:
    _, header, _ = readme.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(header)


def test_model_card_metadata_and_model_index_hold_this_models_results(staged, card):
    assert card.data.pipeline_tag == "audio-classification"
    assert card.data.library_name == "transformers"
    assert card.data.language == ["ko"] and card.data.license == "mit"
    assert card.data.datasets == ["demo corpus (synthetic)"]
    assert {"emotion-recognition", "speech", "multimodal", "synthetic-data"} <= set(card.data.tags)
    expected = {name: EVAL_RESULTS[f"eval_{key}"] for key, name in METRIC_NAMES.items()}  # loss, runtime: not results
    assert {METRICS[key].model_index_name for key in MODEL_INDEX_METRICS} == set(METRIC_NAMES.values())
    assert {result.metric_name: result.metric_value for result in card.data.eval_results} == expected
    assert {result.dataset_split for result in card.data.eval_results} == {"session 5"}
    assert all("synthetic" in result.dataset_name for result in card.data.eval_results)
    raw = _front_matter(staged / "README.md")["model-index"][0]["results"][0]["metrics"]
    assert {metric["name"]: metric["value"] for metric in raw} == expected


def test_model_card_body_has_the_paper_table_warning_and_usage(card):
    text = card.text
    assert "| setting (demo corpus (synthetic)) | precision@1 | recall@1 | F1@1 | CCC(A) | CCC(V) |" in text
    assert "| Speaker, audio+text, λ=0.66, session 5 | 0.358 | 0.335 | 0.346 | 0.543 | -0.012 |" in text
    assert "| setting | precision@1 | recall@1 | F1@1 | precision@2 | recall@2 | F1@2 |" in text
    assert "| Speaker, audio+text, λ=0.66, session 5 | 0.465 | 0.449 | 0.457 | 0.312 | 0.560 | 0.401 |" in text
    assert "precision@1 0.759" in text and "recall@1 0.731" in text  # the published row, columns not swapped
    assert "| Speaker, audio+text, λ=0.66, session 5 | 0.412 | 0.299 | 0.370 |" in text
    assert "not a real emotion model" in text
    assert f'pipeline(model="{REPO_ID}", trust_remote_code=True)' in text
    assert "`modeling_mate.py`" in text and "`pipeline_mate.py`" in text


def _card_with_config(trained_folder: Path, tmp_path: Path, drop: tuple[str, ...], **settings) -> str:
    """The card text of a copy of the folder whose config.json lacks `drop` and has `settings`."""
    folder = tmp_path / "model"
    shutil.copytree(trained_folder, folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config = {key: value for key, value in config.items() if key not in drop} | settings
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return build_model_card(folder, REPO_ID, [], ["modeling_mate.py"]).text


@pytest.mark.parametrize("weight, named", [(0.5, True), (0.0, False), (None, False)])
def test_model_card_names_the_auxiliary_loss_only_when_trained_with_it(trained_folder, tmp_path, weight, named):
    # None: a folder saved before the option existed.
    settings = {} if weight is None else {"unimodal_loss_weight": weight}
    text = _card_with_config(trained_folder, tmp_path, ("unimodal_loss_weight",), **settings)
    assert "| loss | `kl`, λ = 0.66" in text
    assert ("plus 0.5 × the loss of a context-free head per modality" in text) == named


@pytest.mark.parametrize("key", ["modalities", "input_modalities"])
def test_model_card_reads_the_modalities_under_their_name_or_the_old_one(trained_folder, tmp_path, key):
    """Configs name the setting `modalities`; folders saved before the rename have `input_modalities`."""
    text = _card_with_config(trained_folder, tmp_path, ("modalities", "input_modalities"), **{key: "audio"})
    assert "| input modalities | `audio` |" in text
    assert "| Speaker, audio, λ=0.66, session 5 | 0.358 |" in text


def test_the_card_template_ships_in_the_package_and_the_top_level_file_links_to_it():
    top_level = Path(__file__).resolve().parents[1] / "model_card.md"
    assert DEFAULT_TEMPLATE.parent == Path(importlib.import_module("mate_hf.hub").__file__).parent
    assert top_level.is_symlink() and top_level.resolve() == DEFAULT_TEMPLATE.resolve()
    assert default_template() == DEFAULT_TEMPLATE.read_text(encoding="utf-8")
    assert "{{ card_data }}" in default_template()


def test_widget_outputs_are_what_the_pipeline_gives_on_the_example_files(staged, card, pipe):
    widget = card.data.to_dict()["widget"]
    assert [entry["src"] for entry in widget] == _example_names()
    for entry, transcript in zip(widget, CLEAN_TRANSCRIPTS):
        assert (staged / entry["src"]).is_file() and transcript in entry["example_title"]
        result = pipe(str(staged / entry["src"]), transcript=transcript)
        assert entry["output"] == widget_output(result)
        scores = [item["score"] for item in entry["output"]]
        assert len(scores) == 5 and scores == sorted(scores, reverse=True)  # the pipeline's ranking, best first
        assert set(item["label"] for item in entry["output"]) <= set(EMOTION_LABELS)


@pytest.fixture
def hub(monkeypatch):
    """The Hub is unreachable from here: `create_repo` and `create_commit` are intercepted (the only mock), and
    every operation's bytes are read at commit time, as huggingface_hub would upload them."""
    calls = {"create_repo": [], "create_commit": []}

    def create_repo(self, repo_id, **kwargs):
        calls["create_repo"].append({"repo_id": repo_id, **kwargs})

    def create_commit(self, repo_id, operations, **kwargs):
        files = {op.path_in_repo: Path(op.path_or_fileobj).read_bytes() for op in operations}
        calls["create_commit"].append({"repo_id": repo_id, "files": files, "count": len(operations), **kwargs})
        return type("CommitInfo", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/0"})()

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "create_commit", create_commit)
    return calls


def test_upload_adds_every_staged_file_in_one_commit(staged, hub):
    upload(staged, REPO_ID, private=True)
    assert len(hub["create_repo"]) == 1 and len(hub["create_commit"]) == 1
    assert hub["create_repo"][0]["repo_id"] == REPO_ID and hub["create_repo"][0]["exist_ok"] is True
    assert hub["create_repo"][0]["private"] is True
    commit = hub["create_commit"][0]
    assert commit["count"] == len(commit["files"]) == len(_relative_files(staged))
    assert set(commit["files"]) == _relative_files(staged)
    for name, data in commit["files"].items():
        assert data == (staged / name).read_bytes(), name


def test_cli_dry_run_stages_checks_and_uploads_nothing(trained_folder, tmp_path, hub, capsys):
    staging = tmp_path / "staged"
    assert main(["publish", str(trained_folder), "--repo-id", REPO_ID, "--dry-run", "--staging-dir", str(staging)]) == 0
    out = capsys.readouterr().out
    assert "loads with trust_remote_code=True without mate_hf" in out and "dry run" in out
    assert all(name in out for name in _relative_files(staging))
    assert hub["create_commit"] == [] and hub["create_repo"] == []


def test_cli_publish_uploads_the_given_examples(trained_folder, tmp_path, hub, capsys, write_audio):
    examples = write_audio(tmp_path / "mine", ["one.wav", "two words.flac"])
    (tmp_path / "mine" / "one.txt").write_text("정말 기뻐요", encoding="utf-8")
    arguments = ["--repo-id", REPO_ID, "--examples", *map(str, examples), "--skip-verify", "--token", "hf_" + "x" * 34]
    assert main(["publish", str(trained_folder), *arguments]) == 0
    files = hub["create_commit"][0]["files"]
    assert {"one.wav", "one.txt", "two_words.flac", "README.md"} <= set(files)
    assert not any(name.startswith(SEGMENTS[1]) for name in files)
    assert f"uploaded {REPO_ID}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "target, content, message",
    [
        ("tokenizer_config.json", "hf_" + "AbCdEf0123456789" * 3, "looks like a Hugging Face token"),
        ("config.json", "{model_dir}/checkpoint-10", "local absolute path"),
    ],
)
def test_stage_refuses_a_token_or_a_local_path_naming_the_file(trained_folder, tmp_path, target, content, message):
    folder = tmp_path / "model"
    shutil.copytree(trained_folder, folder)
    data = json.loads((folder / target).read_text())
    data["planted_note"] = content.format(model_dir=folder)
    (folder / target).write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message) as error:
        stage(folder, tmp_path / "staged", REPO_ID)
    assert target in str(error.value) and "AbCdEf0123456789" not in str(error.value)


@pytest.mark.parametrize(
    "planted",
    ["README.md:{home}/.cache/huggingface/token", "notes.md:hf_" + "Q" * 36, "__pycache__/x.pyc:", "optimizer.pt:"],
)
def test_upload_refuses_a_planted_file_and_commits_nothing(staged, tmp_path, hub, planted):
    copy = tmp_path / "staged"
    shutil.copytree(staged, copy)
    name, content = planted.split(":", 1)
    path = copy / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(((path.read_text() + "\n") if path.exists() else "") + content.format(home=Path.home()))
    with pytest.raises(ValueError, match="refusing to publish") as error:
        upload(copy, REPO_ID)
    assert name in str(error.value)
    assert hub["create_commit"] == [] and hub["create_repo"] == []


def test_staged_folder_has_no_forbidden_file_types(staged):
    for path in staged.rglob("*"):
        assert path.name not in FORBIDDEN_NAMES
        assert path.suffix not in {".bin", ".pt", ".pth", ".pkl", ".pickle", ".pyc", ".npy"}
        assert not path.name.startswith(("checkpoint-", "rng_state", ".")), path.name
    text = "\n".join(p.read_text(encoding="utf-8") for p in staged.iterdir() if p.suffix in {".json", ".md", ".py"})
    assert str(staged.parent) not in text and str(Path.home()) + "/" not in text


def test_stage_refusals_name_the_reason(make_model_folder, write_audio, tmp_path):
    bare = make_model_folder(tmp_path / "bare")
    with pytest.raises(ValueError, match="pass --examples"):
        stage(bare, tmp_path / "a", REPO_ID)
    assert not (tmp_path / "a").exists()  # refused before anything was written
    clips = write_audio(tmp_path / "clips", ["1.wav", "2.wav", "3.wav", "4.wav"])
    with pytest.raises(ValueError, match="at most 3"):
        stage(bare, tmp_path / "b", REPO_ID, examples=clips)
    with pytest.raises(ValueError, match="USER/NAME"):
        stage(bare, tmp_path / "c", "no-owner", examples=clips[:1])
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "old.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        stage(bare, tmp_path / "d", REPO_ID, examples=clips[:1])
    (bare / "model.safetensors").rename(bare / "pytorch_model.bin")
    with pytest.raises(ValueError, match="pickled weights pytorch_model.bin"):
        stage(bare, tmp_path / "e", REPO_ID, examples=clips[:1])


def test_the_deprecated_publishing_module_warns_and_gives_the_hub_functions(monkeypatch):
    """`mate_hf.publishing` was the public API before mate_hf.hub: its names still import, with a FutureWarning."""
    monkeypatch.delitem(sys.modules, "mate_hf.publishing", raising=False)  # imported afresh, so it warns again
    with pytest.warns(FutureWarning, match=r"mate_hf\.publishing moved to mate_hf\.hub"):
        publishing = importlib.import_module("mate_hf.publishing")
    hub_package = importlib.import_module("mate_hf.hub")
    assert set(publishing.__all__) == set(hub_package.__all__)
    for name in ("stage", "verify_staged", "upload", "scan_staged_folder", "build_model_card", "FORBIDDEN_NAMES"):
        assert getattr(publishing, name) is getattr(hub_package, name), name
