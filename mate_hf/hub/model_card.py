"""The model card (`README.md` of the Hub repo): Hub metadata (YAML front matter with the model-index) and the body
rendered from the Jinja template `model_card.md`, which ships inside this package (package data), so an installed
mate-hf publishes without a checkout of the project. The project's top-level `model_card.md` is a link to it.

The tables, metric names and setting label come from `mate_hf.results`, like every other table of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..results import (
    METRICS,
    MODEL_INDEX_METRICS,
    PAPER_TABLE,
    STANDARD_TABLE,
    WHOLE_SET_TABLE,
    describe_sessions,
    eval_metrics,
    metrics_table,
    setting_label,
)
from .examples import Example
from .model_folder import read_json

TEMPLATE_NAME = "model_card.md"
# Where the default template lies in a source checkout or an unpacked install (for messages and --card-template).
DEFAULT_TEMPLATE = Path(__file__).with_name(TEMPLATE_NAME)


def default_template() -> str:
    """The text of the template that ships with the package."""
    try:
        return resources.files(__package__).joinpath(TEMPLATE_NAME).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ValueError(
            f"the model card template {TEMPLATE_NAME} is missing from the installed mate_hf.hub package (a broken "
            "install?): reinstall mate-hf or pass template= (--card-template)"
        ) from error


def build_model_card(
    model_dir: Path,
    repo_id: str,
    examples: list[Example],
    code_files: list[str],
    template: str | Path | None = None,
) -> ModelCard:
    """The README.md: Hub metadata (YAML front matter) and the body rendered from the Jinja template (default: the
    package's `model_card.md`)."""
    import jinja2

    if template is None:
        source = default_template()
    elif Path(template).is_file():
        source = Path(template).read_text(encoding="utf-8")
    else:
        raise ValueError(f"model card template {template} does not exist: pass template= (--card-template)")
    config = read_json(Path(model_dir) / "config.json", required=True)
    facts = training_facts(Path(model_dir), config)
    card_data = card_metadata(repo_id, facts, examples)
    # StrictUndefined: a misspelt template variable fails here instead of leaving a silent gap in the card.
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    content = environment.from_string(source).render(
        card_data=card_data.to_yaml(),
        repo_id=repo_id,
        model_name=repo_id.split("/")[1],
        facts=facts,
        config=config,
        examples=[_example_row(example) for example in examples],
        code_files=code_files,
        eval_table=eval_tables(facts),
    )
    return ModelCard(content)


@dataclass
class TrainingFacts:
    """What the card says about the data and the evaluation, read from a training folder's JSON files."""

    datasets: list[str]
    dataset_label: str
    dataset_type: str
    synthetic: bool
    role: str | None
    eval_sessions: list[str]
    train_sessions: list[str]
    split: str
    rows_used: dict[str, int]
    metrics: dict[str, float] = field(default_factory=dict)  # registered metrics (`mate_hf.results.METRICS`)
    setting: str = ""


def training_facts(model_dir: Path, config: dict) -> TrainingFacts:
    """The facts of `data_report.json` and `eval_results.json` (written by `training/run.py`); a folder without
    them gives "unknown" data and no metrics."""
    report = read_json(model_dir / "data_report.json") or {}
    corpora = report.get("reports") or {}
    synthetic = any(_is_synthetic(entry.get("root")) for entry in corpora.values())
    names = [entry.get("corpus", key.upper()) for key, entry in corpora.items()]
    roles = sorted({entry["role"] for entry in corpora.values() if entry.get("role")})
    if synthetic:
        datasets = ["demo corpus (synthetic)"]
        label, dataset_type = f"mate-hf demo corpus (synthetic, {' + '.join(names)} format)", "mate-hf-demo-corpus"
    else:
        datasets = names
        label, dataset_type = " + ".join(names) or "unknown", "+".join(name.lower() for name in names) or "unknown"
    eval_sessions = report.get("eval_sessions") or []
    role = roles[0] if len(roles) == 1 else None
    split = describe_sessions(eval_sessions)
    return TrainingFacts(
        datasets=datasets,
        dataset_label=label,
        dataset_type=dataset_type,
        synthetic=synthetic,
        role=role,
        eval_sessions=eval_sessions,
        train_sessions=report.get("train_sessions") or [],
        split=split,
        rows_used={entry.get("corpus", key): entry.get("rows_used") for key, entry in corpora.items()},
        metrics=eval_metrics(read_json(model_dir / "eval_results.json") or {}),
        setting=setting_label(config, role, split),
    )


def _is_synthetic(root: str | None) -> bool:
    """The bundled demo corpus says so in its manifest; its folder name tells when the manifest is elsewhere."""
    if not root:
        return False
    manifest = read_json(Path(root).parent / "manifest.json") or {}
    return bool(manifest.get("synthetic")) or Path(root).parent.name == "demo_corpus"


def card_metadata(repo_id: str, facts: TrainingFacts, examples: list[Example]) -> ModelCardData:
    """The card's YAML front matter: tags, datasets, the model-index of this model's results and the widget."""
    tags = ["emotion-recognition", "speech-emotion-recognition", "speech", "multimodal", "audio", "text"]
    tags += ["korean", "mate", "custom_code"] + (["synthetic-data", "demo"] if facts.synthetic else [])
    indexed = [METRICS[key] for key in MODEL_INDEX_METRICS if key in facts.metrics]
    return ModelCardData(
        library_name="transformers",
        pipeline_tag="audio-classification",
        language=["ko"],
        license="mit",
        datasets=facts.datasets or None,
        tags=tags,
        metrics=sorted({metric.model_index_type for metric in indexed}) or None,
        model_name=repo_id.split("/")[1],
        eval_results=[
            EvalResult(
                task_type="audio-classification",
                task_name="Emotion recognition in conversation",
                dataset_type=facts.dataset_type,
                dataset_name=facts.dataset_label,
                dataset_split=facts.split,
                metric_type=metric.model_index_type,
                metric_name=metric.model_index_name,
                metric_value=facts.metrics[metric.key],
            )
            for metric in indexed
        ]
        or None,
        widget=[_widget_entry(example) for example in examples],
    )


def _widget_entry(example: Example) -> dict:
    # The widget cannot send a transcript: the title says which one the recorded output used.
    said = f" — “{example.transcript}”" if example.transcript else " (audio only)"
    return {"src": example.name, "example_title": Path(example.name).stem + said, "output": example.widget_output()}


def _example_row(example: Example) -> dict:
    result = example.result
    top = result["emotions"][0]  # the pipeline ranks the emotions, best first
    return {
        "name": example.name,
        "transcript": example.transcript or "—",
        "emotion": top["label"],
        "score": f"{top['score']:.3f}",
        "arousal": f"{result['arousal']:.2f}",
        "valence": f"{result['valence']:.2f}",
        "modalities": result["modalities"],
    }


def eval_tables(facts: TrainingFacts) -> dict[str, str]:
    """The SPEC §6 table, the whole-set top-k table and the standard metrics of this model, or empty strings
    without results."""
    if not any(key in facts.metrics for key in MODEL_INDEX_METRICS):
        return {"paper": "", "whole_set": "", "standard": ""}
    dataset = facts.datasets[0] if len(facts.datasets) == 1 else facts.dataset_label
    row = [(facts.setting, facts.metrics, None)]
    return {
        "paper": metrics_table(f"setting ({dataset})", PAPER_TABLE, row),
        "whole_set": metrics_table("setting", WHOLE_SET_TABLE, row),
        "standard": metrics_table("setting", STANDARD_TABLE, row),
    }
