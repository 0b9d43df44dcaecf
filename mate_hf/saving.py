"""Writing a complete MATE folder (weights, config, processor, remote code, custom pipeline) and loading
its pipeline with the installed package."""

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
