"""Writing a complete MATE folder (weights, config, processor, remote code, custom pipeline) and loading
its pipeline with the installed package."""

import json
from pathlib import Path

from transformers import pipeline

from .modeling_mate import MateModel
from .pipeline_mate import TASK, MateEmotionPipeline
from .processing_mate import MateProcessor


def save_mate_folder(folder: str | Path, model: MateModel, processor: MateProcessor) -> Path:
    """Save what `AutoModel`, `AutoProcessor` and `pipeline(model=folder, trust_remote_code=True)` need.

    The pipeline's `save_pretrained` writes the safetensors weights, `config.json` with `auto_map` and
    `custom_pipelines`, and copies every remote-code file; the processor adds `processor_config.json`
    so `AutoProcessor` gives a `MateProcessor` rather than the bare tokenizer.
    """
    try:
        MateEmotionPipeline(model=model, processor=processor).save_pretrained(folder)
        processor.save_pretrained(folder)
    except OSError as error:
        raise save_failure(error, "saving the MATE folder", folder) from error
    return Path(folder)


def check_mate_folder(model_dir: str | Path) -> tuple[Path, dict]:
    """The folder and its parsed config.json, if it holds a MATE saved with `save_mate_folder`: a config of
    `model_type` "mate", safetensors weights and the processor's `processor_config.json`.

    Raises:
        FileNotFoundError: the folder or its config.json is missing.
        ValueError: the config is not valid JSON or not MATE's, or the weights or the processor are missing;
            the message names the folder or file.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected a MATE folder from save_mate_folder)")
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json: not a saved MATE folder")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{config_file}: not valid JSON ({error})") from None
    if config.get("model_type") != "mate":
        raise ValueError(f"{config_file} describes a {config.get('model_type')!r} model, not MATE ('mate')")
    if not any(folder.glob("*.safetensors")):
        pickled = sorted(path.name for path in folder.glob("pytorch_model*.bin"))
        hint = f" (found pickled weights {', '.join(pickled)}: re-save with save_pretrained)" if pickled else ""
        raise ValueError(f"{folder} holds no safetensors weights{hint}")
    if not (folder / "processor_config.json").is_file():
        raise ValueError(f"{folder} has no processor_config.json: save it with mate_hf.save_mate_folder")
    return folder, config


def save_failure(error: OSError, what: str, folder: str | Path, hint: str = "") -> OSError:
    """`error` (errno kept) saying what failed and where: a full disk otherwise surfaces as a bare
    "[Errno 28] No space left on device" that names no folder."""
    return OSError(error.errno, f"{what} failed ({error.strerror or error}){hint}", str(folder))


def load_mate_pipeline(model: str | Path, **kwargs) -> MateEmotionPipeline:
    """This package's pipeline on a saved MATE folder (or Hub id), without running the folder's own code.

    `pipeline(TASK, model=folder)` alone refuses such a folder: its config.json names its own pipeline
    code (`custom_pipelines`), which needs `trust_remote_code=True`. Naming the class with
    `trust_remote_code=False` uses the installed classes instead (registered with the Auto classes).
    `kwargs` go to `transformers.pipeline` (device, batch_size, asr_model, ...).
    """
    return pipeline(TASK, model=str(model), pipeline_class=MateEmotionPipeline, trust_remote_code=False, **kwargs)
