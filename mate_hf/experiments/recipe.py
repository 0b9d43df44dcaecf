"""The training recipe of `training/run.py`: data → split → model and processor → caches → Trainer → train →
evaluate → save.

    accelerate launch training/run.py training/configs/demo.yaml
    accelerate launch training/run.py training/configs/experiments/kemdy19_base.yaml \
        --kemdy19_dir /data/KEMDy19 --role speaker --fold 3 --output_dir runs/speaker-fold3 --model.loss_lambda 0.75

The arguments are those of `mate_hf.experiments.arguments` (a run config and the command line).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import datasets
import torch
import transformers
from transformers import set_seed

from ..char_tokenizer import build_char_tokenizer
from ..configuration_mate import MateConfig
from ..data import load_kemdy19, load_kemdy20, session_folds, session_number, split_by_sessions
from ..data.collator import MateDataCollator, chunk_dialogues, featurize_audio
from ..data.labels import NUM_EMOTIONS
from ..feature_extraction_mate import MateFeatureExtractor
from ..metrics import make_compute_metrics
from ..modeling_mate import MateModel
from ..processing_mate import MateProcessor
from ..saving import save_mate_folder
from ..text_tokenizers import load_text_tokenizer
from ..trainer import LABEL_NAMES, MateTrainer, last_complete_checkpoint
from .arguments import DataArguments, RunArguments, parse_run_arguments

logger = logging.getLogger(__name__)


def parse_sessions(text: str) -> list[int]:
    """'13-16' or '1,2,5' or '3' → session numbers."""
    sessions = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        sessions.extend(range(int(first), int(last or first) + 1))
    return sessions


def load_corpus(data_args: DataArguments) -> tuple[datasets.Dataset, dict]:
    """The dialogue dataset and the load reports (per corpus, JSON-ready)."""
    parts, reports = [], {}
    if data_args.kemdy19_dir:
        dataset, report = load_kemdy19(data_args.kemdy19_dir, role=data_args.role, strict=data_args.strict)
        logger.info("KEMDy19 (%s): %s", data_args.role, report.summary())
        parts.append(dataset.add_column("corpus", ["kemdy19"] * len(dataset)))
        reports["kemdy19"] = report.to_dict()
    if data_args.kemdy20_dir:
        if data_args.role != "speaker":
            raise ValueError("KEMDy20 has speaker labels only; use role=speaker or leave kemdy20_dir out")
        dataset, report = load_kemdy20(data_args.kemdy20_dir, strict=data_args.strict)
        logger.info("KEMDy20: %s", report.summary())
        parts.append(dataset.add_column("corpus", ["kemdy20"] * len(dataset)))
        reports["kemdy20"] = report.to_dict()
    if not parts:
        raise ValueError("give kemdy19_dir, kemdy20_dir or both")
    return datasets.concatenate_datasets(parts), reports


def held_out_sessions(dataset: datasets.Dataset, data_args: DataArguments) -> list[str]:
    """Session names of the evaluation split."""
    sessions = sorted(set(dataset["session"]))
    if data_args.eval_sessions:
        wanted = set(parse_sessions(data_args.eval_sessions))
        return [s for s in sessions if session_number(s) in wanted]
    fold = 0 if data_args.fold is None else data_args.fold
    folds = session_folds([session_number(s) for s in sessions], data_args.num_folds)
    return [s for s in sessions if session_number(s) in folds[fold]]


def class_counts(dataset: datasets.Dataset) -> list[int]:
    """Training samples per class: each utterance's majority label(s), ties counting for every tied class."""
    counts = [0] * NUM_EMOTIONS
    for dialogue in dataset["emotion_majority"]:
        for multi_hot in dialogue:
            for index, value in enumerate(multi_hot):
                counts[index] += int(value)
    return counts


def build_tokenizer(text_encoder: str | None, dataset: datasets.Dataset):
    if text_encoder:
        return load_text_tokenizer(text_encoder)
    # Offline stand-in for KR-BERT's character vocabulary; transcripts only, no labels.
    return build_char_tokenizer(text for dialogue in dataset["text"] for text in dialogue)


def build_config(arguments: RunArguments, tokenizer, counts: list[int]) -> MateConfig:
    """`MateConfig` of the run's model settings, with the class counts of the training split and, for a text
    encoder made here, the vocabulary size of the character tokenizer."""
    settings = dict(arguments.model_settings)
    text_config = dict(settings.pop("text_config", None) or {})
    if not arguments.model.text_encoder:
        text_config["vocab_size"] = len(tokenizer)
    return MateConfig(text_config=text_config or None, emotion_class_counts=counts, **settings)


def build_model_and_processor(
    arguments: RunArguments, train: datasets.Dataset, everything: datasets.Dataset
) -> tuple[MateModel, MateProcessor]:
    model_args = arguments.model
    if model_args.model_name_or_path:
        model = MateModel.from_pretrained(model_args.model_name_or_path)
        return model, MateProcessor.from_pretrained(model_args.model_name_or_path)
    tokenizer = build_tokenizer(model_args.text_encoder, everything)
    config = build_config(arguments, tokenizer, class_counts(train))
    if model_args.text_encoder:
        model = MateModel.from_pretrained_text_encoder(model_args.text_encoder, config=config)
    else:
        model = MateModel(config)
    processor = MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), tokenizer)
    return model, processor


def add_text_embeddings(dataset: datasets.Dataset, model: MateModel, processor: MateProcessor) -> datasets.Dataset:
    """With a frozen text encoder, each transcript's embedding never changes: compute it once."""

    def embed(row: dict) -> dict:
        tokens = processor(text=[row["text"]])
        embeds = model.embed_text(tokens["input_ids"], tokens["attention_mask"], tokens["token_type_ids"])
        return {"text_embeds": embeds[0].numpy()}

    model.eval()
    with torch.inference_mode():
        return dataset.map(embed, desc="embedding transcripts once")


def prepare_split(dataset, model, processor, data_args: DataArguments, context: int) -> datasets.Dataset:
    if model.config.freeze_text_encoder and model.uses_text:
        dataset = add_text_embeddings(dataset, model, processor)
    return chunk_dialogues(dataset, max_targets=data_args.max_targets_per_chunk, context=context)


def main(argv: list[str] | None = None) -> dict:
    arguments = parse_run_arguments(sys.argv[1:] if argv is None else argv)
    log_level = arguments.training.get_process_log_level()
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        level=log_level,
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    transformers.utils.logging.set_verbosity(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    set_seed(arguments.training.seed)
    return run(arguments)


def run(arguments: RunArguments) -> dict:
    """Train and evaluate one model; write the MATE folder, metrics, data report and predictions into the
    output folder. Returns the evaluation metrics."""
    data_args, training_args = arguments.data, arguments.training
    training_args.label_names = LABEL_NAMES
    training_args.remove_unused_columns = False
    dataset, reports = load_corpus(data_args)
    eval_sessions = held_out_sessions(dataset, data_args)
    train_set, eval_set = split_by_sessions(dataset, eval_sessions)
    logger.info("train: %d dialogues, eval (%s): %d dialogues", len(train_set), ",".join(eval_sessions), len(eval_set))

    model, processor = build_model_and_processor(arguments, train_set, dataset)
    context = model.config.context_window - 1
    with training_args.main_process_first():
        audio_cache = (
            featurize_audio(dataset, processor) if data_args.cache_audio_features and model.uses_audio else None
        )
        train_set = prepare_split(train_set, model, processor, data_args, context)
        eval_set = prepare_split(eval_set, model, processor, data_args, context)
    collate = functools.partial(MateDataCollator, processor, audio=model.uses_audio, audio_cache=audio_cache)

    trainer = MateTrainer(
        model=model,
        args=training_args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=collate(crop="random", seed=training_args.seed),
        compute_metrics=make_compute_metrics(),
        processing_class=processor,
    )
    checkpoint = training_args.resume_from_checkpoint
    if checkpoint in ("last", "true", "True"):
        # Skips a checkpoint whose save was cut short by a crash; None (nothing saved yet) starts afresh.
        checkpoint = last_complete_checkpoint(training_args.output_dir)
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    if trainer.is_world_process_zero():
        save_mate_folder(training_args.output_dir, trainer.model, processor)
    trainer.log_metrics("train", train_result.metrics)
    trainer.save_metrics("train", train_result.metrics)
    trainer.save_state()  # trainer_state.json: log_history with the loss and its parts, for learning curves

    trainer.data_collator = collate(crop="center")
    prediction = trainer.predict(eval_set, metric_key_prefix="eval")
    trainer.log_metrics("eval", prediction.metrics)
    trainer.save_metrics("eval", prediction.metrics)
    # Every process states its metrics: under DDP they must agree (predictions are gathered first).
    # One write of one whole line (atomic on a pipe), led by a newline, so two processes never interleave it.
    line = f"\n[rank {training_args.process_index}] eval metrics: {json.dumps(prediction.metrics, sort_keys=True)}\n"
    sys.stdout.write(line)
    sys.stdout.flush()
    if trainer.is_world_process_zero():
        output_dir = Path(training_args.output_dir)
        splits = {"eval_sessions": eval_sessions, "train_sessions": sorted(set(train_set["session"]))}
        (output_dir / "data_report.json").write_text(
            json.dumps({**splits, "reports": reports}, indent=2, ensure_ascii=False)
        )
        write_predictions(output_dir / "eval_predictions.jsonl", eval_set, prediction, model.config.id2label)
    return prediction.metrics


def write_predictions(path: Path, chunks: datasets.Dataset, prediction, id2label: dict) -> None:
    """One JSON line per target utterance: predicted and gold emotion, arousal and valence."""
    probs, arousal, valence = prediction.predictions
    with path.open("w", encoding="utf-8") as handle:
        for index, chunk in enumerate(chunks):
            for position in range(chunk["num_context"], len(chunk["segment_id"])):
                record = {
                    "segment_id": chunk["segment_id"][position],
                    "emotion_probs": {id2label[k]: round(float(p), 5) for k, p in enumerate(probs[index, position])},
                    "arousal": float(arousal[index, position]),
                    "valence": float(valence[index, position]),
                    "gold_votes": chunk["emotion_votes"][position],
                    "gold_majority": [id2label[k] for k, v in enumerate(chunk["emotion_majority"][position]) if v],
                    "gold_arousal": chunk["arousal"][position],
                    "gold_valence": chunk["valence"][position],
                }
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
