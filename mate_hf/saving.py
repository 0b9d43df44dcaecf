"""Writing a complete MATE folder: weights, config, processor, remote code and the custom pipeline."""

from pathlib import Path

from .modeling_mate import MateModel
from .pipeline_mate import MateEmotionPipeline
from .processing_mate import MateProcessor


def save_mate_folder(folder: str | Path, model: MateModel, processor: MateProcessor) -> Path:
    """Save what `AutoModel`, `AutoProcessor` and `pipeline(model=folder, trust_remote_code=True)` need.

    The pipeline's `save_pretrained` writes the safetensors weights, `config.json` with `auto_map` and
    `custom_pipelines`, and copies every remote-code file; the processor adds `processor_config.json`
    so `AutoProcessor` gives a `MateProcessor` rather than the bare tokenizer.
    """
    MateEmotionPipeline(model=model, processor=processor).save_pretrained(folder)
    processor.save_pretrained(folder)
    return Path(folder)
