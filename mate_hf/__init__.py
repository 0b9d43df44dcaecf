"""mate-hf: MATE (Multimodal model using Audio and Text for Emotion recognition) for 🤗 Transformers.

Importing the package registers MATE with the Auto classes, so `AutoConfig`, `AutoModel`,
`AutoFeatureExtractor`, `AutoProcessor` and `AutoTokenizer` (KoBERT's tokenizer) resolve saved MATE folders.
"""

from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoProcessor, AutoTokenizer
from transformers.pipelines import PIPELINE_REGISTRY

from .char_tokenizer import build_char_tokenizer
from .configuration_mate import EMOTION_LABELS, KR_BERT_NAME, MateConfig
from .feature_extraction_mate import MateFeatureExtractor
from .modeling_mate import MateModel, MateOutput, MatePreTrainedModel
from .pipeline_mate import TASK, MateEmotionPipeline
from .processing_mate import MateProcessor
from .saving import load_mate_pipeline, save_mate_folder
from .text_tokenizers import load_text_tokenizer
from .tokenization_kobert import KoBertTokenizer

__version__ = "0.1.0"

AutoConfig.register(MateConfig.model_type, MateConfig)
AutoModel.register(MateConfig, MateModel)
AutoFeatureExtractor.register(MateConfig, MateFeatureExtractor)
AutoProcessor.register(MateConfig, MateProcessor)
# Also records the class under its name, so a saved folder's tokenizer_config.json ("tokenizer_class":
# "KoBertTokenizer") resolves to this class without trust_remote_code. MATE's default text encoder is KoBERT.
AutoTokenizer.register(MateConfig, KoBertTokenizer)

# save_pretrained then writes `auto_map` and copies these files, so trust_remote_code works without the package.
MateConfig.register_for_auto_class()
MateModel.register_for_auto_class("AutoModel")
MateFeatureExtractor.register_for_auto_class()
MateProcessor.register_for_auto_class()
KoBertTokenizer.register_for_auto_class("AutoTokenizer")

# `pipeline(TASK, model=...)` with the package installed; `save_pretrained` of a pipeline built this way
# writes `custom_pipelines` into config.json, so `pipeline(model=folder, trust_remote_code=True)` works without it.
PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=MateEmotionPipeline, pt_model=AutoModel, type="audio")

__all__ = [
    "EMOTION_LABELS",
    "KR_BERT_NAME",
    "KoBertTokenizer",
    "MateConfig",
    "MateEmotionPipeline",
    "MateFeatureExtractor",
    "MateModel",
    "MateOutput",
    "MatePreTrainedModel",
    "MateProcessor",
    "TASK",
    "build_char_tokenizer",
    "load_mate_pipeline",
    "load_text_tokenizer",
    "save_mate_folder",
]
