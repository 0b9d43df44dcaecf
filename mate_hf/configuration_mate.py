"""Configuration of MATE, the Multimodal model using Audio and Text for Emotion recognition."""

import warnings
from typing import Literal

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

# The reference implementation's class order; checkpoints and published numbers depend on it.
EMOTION_LABELS = ("disgust", "angry", "sad", "fear", "surprise", "neutral", "happy")

# The authors' text encoder: KoBERT (SKT), a BERT-base with a SentencePiece vocabulary of 8,002. The default text
# encoder is shaped like it, so its pretrained weights load into a default model.
KOBERT_NAME = "skt/kobert-base-v1"
KOBERT_SHAPE = {
    "vocab_size": 8002,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
}
# KR-BERT, the encoder the slides cite: a character-level BERT-base (vocabulary 16,424); an option.
KR_BERT_NAME = "snunlp/KR-BERT-char16424"

MODALITIES = ("audio+text", "audio", "text")
# The name `modalities` had before it was renamed, read (with a FutureWarning) from older code and config.json files.
# The model class keeps an attribute of that name: transformers' `PreTrainedModel.input_modalities`, another thing.
DEPRECATED_MODALITIES_NAME = "input_modalities"
AUDIO_ENCODERS = ("window_channels", "per_utterance")
AUDIO_INPUT_NORMS = ("standardize", "batch_norm")
# What a folder saved before `audio_encoder` and `audio_input_norm` existed was built with.
AUDIO_SETTINGS_BEFORE_ENCODER_MODES = {"audio_encoder": "per_utterance", "audio_input_norm": "batch_norm"}


class MateConfig(PreTrainedConfig):
    r"""
    Configuration of a [`MateModel`]. The defaults are the authors' model (SPEC §1): each utterance's 10 s log-mel
    is standardised on its own; the 8 spectrograms of a window (the target and its 7 predecessors) are the 8 input
    channels of a 4-block 2D CNN whose 8 output channels are the window positions' audio features (816 each); a
    KoBERT sentence embedding (768) is concatenated to each (1584); a 4 × 512 LSTM reads the window; a 7-way emotion
    head and an arousal/valence head follow. 31,424,377 parameters outside the text encoder.

    Args:
        text_config (`dict` or `PreTrainedConfig`, *optional*):
            Configuration of the BERT-family text encoder. Defaults to a BERT shaped like KoBERT
            (vocab 8002, hidden 768, 12 layers, 12 heads).
        sampling_rate (`int`, defaults to 16000): Rate (Hz) all audio is resampled to.
        max_duration (`float`, defaults to 10.0): Seconds of audio per utterance (crop or zero-pad).
        n_fft (`int`, defaults to 2048): FFT size of the mel spectrogram.
        hop_length (`int`, defaults to 512): Hop between spectrogram frames, in samples.
        f_min (`float`, defaults to 30.0): Lowest mel filter frequency (Hz).
        f_max (`float`, defaults to 8000.0): Highest mel filter frequency (Hz).
        n_mels (`int`, defaults to 229): Number of mel bands.
        audio_encoder (`str`, defaults to `"window_channels"`): `"window_channels"`, the paper's: a window's
            `context_window` spectrograms are the input channels of the convolutions, and the last conv block has
            `context_window × audio_conv_channels[-1]` output channels, group i being window position i's audio
            features (so they mix the window's utterances; slots before the dialogue's start are zero inputs).
            `"per_utterance"`: each utterance alone through the blocks with one input channel, encoded once per
            forward, windows sliced from the sequence of utterance embeddings (not the paper's network).
        audio_input_norm (`str`, defaults to `"standardize"`): `"standardize"`, the paper's: each utterance's
            log-mel becomes `(x − mean) / sqrt(var + 1e-5)` over its whole spectrogram (biased variance, no
            parameters). `"batch_norm"`: a learned `BatchNorm2d(1)` over the batch's utterances.
        audio_conv_channels (`list[int]`, defaults to `[32, 48, 32, 1]`): Output channels of the 4 conv blocks; the
            last is per utterance (per window position with `audio_encoder="window_channels"`).
        audio_conv_kernel_sizes (`list[int]`, defaults to `[3, 3, 5, 7]`): Square kernel size of each block.
        audio_conv_pooling (`list[bool]`, defaults to `[False, True, True, True]`): Whether a block ends in a
            2 × 2 max-pool.
        audio_embedding_grid (`list[int]`, defaults to `[24, 34]`): (mel, time) grid the last feature map is
            pooled to, so every clip length gives `last channels × 24 × 34 = 816` features. A 10 s clip
            lands on this grid exactly, without pooling.
        freeze_text_encoder (`bool`, defaults to `True`): Keep the text encoder fixed (no gradients, eval mode),
            as the authors used fixed sentence embeddings.
        modalities (`str`, defaults to `"audio+text"`): The modalities the model uses: `"audio+text"`, `"audio"` or
            `"text"`; a missing modality is replaced by zeros (the paper's ablations). Formerly `input_modalities`,
            still accepted (as a keyword or in a saved config.json) with a `FutureWarning`.
        context_window (`int`, defaults to 8): Consecutive utterances (ending at the target) the LSTM reads.
        lstm_hidden_size (`int`, defaults to 512): Hidden size of the dialogue LSTM.
        lstm_num_layers (`int`, defaults to 4): Layers of the dialogue LSTM.
        lstm_bidirectional (`bool`, defaults to `False`): Bidirectional LSTM (the authors' best speaker F1).
        lstm_dropout (`float`, defaults to 0.0): Dropout between LSTM layers.
        emotion_head_sizes (`list[int]`, defaults to `[2048, 512, 256, 64]`): Hidden sizes of the emotion MLP.
        affective_head_sizes (`list[int]`, defaults to `[2048, 1024, 512]`): Hidden sizes of the shared affective MLP.
        affective_regressor_sizes (`list[int]`, defaults to `[128, 32]`): Hidden sizes of the arousal and valence MLPs.
        concat_emotion (`bool`, defaults to `True`): Feed the 7 emotion probabilities to the affective regressors.
        loss_type (`str`, defaults to `"kl"`): `"kl"` (KL divergence to the vote distribution) or
            `"class_balanced"` (the authors' class-balanced BCE, for the `neutral`-dominated imbalance).
        loss_lambda (`float`, defaults to 0.66): Weight λ of the emotion term; the arousal and valence MSEs share 1 − λ.
        class_balanced_beta (`float`, defaults to 0.99): β of the class-balanced weights `(1 − β) / (1 − β^n)`,
            with `n = int(count / smallest count)` (see `class_balanced_weights`).
        emotion_class_counts (`list[int]`, *optional*): Training targets whose majority label set contains each
            class (a tie counts for every tied class), counted from the training split; required by the
            class-balanced loss.
        unimodal_loss_weight (`float`, defaults to 0.0): Weight `w` of auxiliary per-modality losses. When `w > 0`, a
            linear head on each used modality's embedding of an utterance alone (no context) predicts that
            utterance's emotion, arousal and valence, and the training loss adds `w` times each head's MATE
            objective, so each encoder learns from its own modality even when the other (or the context) fits the
            training set alone. Predictions still come from the main heads. Not in the paper; 0 is the published
            model. Needs `audio_encoder="per_utterance"`: the window encoder has no audio embedding of one utterance
            alone.
        initializer_range (`float`, defaults to 0.02): Standard deviation of the linear layers' initial weights.

    Example:

    ```python
    >>> from mate_hf import MateConfig

    >>> config = MateConfig()  # the authors' model: 10 s clips, 229 mel bands, KoBERT-sized text encoder
    >>> config.audio_hidden_size, config.text_hidden_size, config.utterance_hidden_size
    (816, 768, 1584)
    >>> config.modalities, config.num_labels, config.id2label[5]
    ('audio+text', 7, 'neutral')

    >>> # A small audio-only variant; `text_config` takes BERT settings
    >>> small = MateConfig(modalities="audio", n_mels=64, lstm_hidden_size=16, text_config={"hidden_size": 32})
    >>> small.utterance_hidden_size, small.dialogue_hidden_size  # 816 audio + 32 text; 8 window positions × 16
    (848, 128)

    ```
    """

    model_type = "mate"
    sub_configs_defaults = {
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="bert", init_kwargs=KOBERT_SHAPE),
    }

    text_config: dict | PreTrainedConfig | None = None
    sampling_rate: int = 16000
    max_duration: float = 10.0
    n_fft: int = 2048
    hop_length: int = 512
    f_min: float = 30.0
    f_max: float = 8000.0
    n_mels: int = 229
    audio_encoder: Literal["window_channels", "per_utterance"] = "window_channels"
    audio_input_norm: Literal["standardize", "batch_norm"] = "standardize"
    audio_conv_channels: list[int] | tuple[int, ...] = (32, 48, 32, 1)
    audio_conv_kernel_sizes: list[int] | tuple[int, ...] = (3, 3, 5, 7)
    audio_conv_pooling: list[bool] | tuple[bool, ...] = (False, True, True, True)
    audio_embedding_grid: list[int] | tuple[int, ...] = (24, 34)
    freeze_text_encoder: bool = True
    modalities: Literal["audio+text", "audio", "text"] = "audio+text"
    context_window: int = 8
    lstm_hidden_size: int = 512
    lstm_num_layers: int = 4
    lstm_bidirectional: bool = False
    lstm_dropout: float = 0.0
    emotion_head_sizes: list[int] | tuple[int, ...] = (2048, 512, 256, 64)
    affective_head_sizes: list[int] | tuple[int, ...] = (2048, 1024, 512)
    affective_regressor_sizes: list[int] | tuple[int, ...] = (128, 32)
    concat_emotion: bool = True
    loss_type: Literal["kl", "class_balanced"] = "kl"
    loss_lambda: float = 0.66
    class_balanced_beta: float = 0.99
    emotion_class_counts: list[int] | None = None
    unimodal_loss_weight: float = 0.0
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        if DEPRECATED_MODALITIES_NAME in kwargs:  # MateConfig(input_modalities=...), or an older config.json
            _warn_input_modalities(stacklevel=4)
            self.modalities = kwargs.pop(DEPRECATED_MODALITIES_NAME)
        if self.id2label is None:
            self.id2label = dict(enumerate(EMOTION_LABELS))
            self.label2id = {label: index for index, label in enumerate(EMOTION_LABELS)}
        super().__post_init__(**kwargs)
        self._check_consistency()

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs):
        """`PreTrainedConfig.from_dict`; a saved config without `audio_encoder` (written before it existed) gets the
        per-utterance encoder and learned input BatchNorm it was built with, so old folders predict as before."""
        saved_before_encoder_modes = "transformers_version" in config_dict and "audio_encoder" not in config_dict
        if saved_before_encoder_modes:
            config_dict = {**AUDIO_SETTINGS_BEFORE_ENCODER_MODES, **config_dict}
        if DEPRECATED_MODALITIES_NAME in kwargs:  # from_pretrained(..., input_modalities=...) overrides the saved value
            config_dict = {**config_dict, DEPRECATED_MODALITIES_NAME: kwargs.pop(DEPRECATED_MODALITIES_NAME)}
        return super().from_dict(config_dict, **kwargs)

    @property
    def input_modalities(self) -> str:
        """Deprecated name of `modalities`."""
        _warn_input_modalities(stacklevel=5)
        return self.modalities

    @input_modalities.setter
    def input_modalities(self, value: str) -> None:
        _warn_input_modalities(stacklevel=5)
        self.modalities = value

    def _check_consistency(self) -> None:
        blocks = (self.audio_conv_channels, self.audio_conv_kernel_sizes, self.audio_conv_pooling)
        if len({len(values) for values in blocks}) != 1:
            raise ValueError(
                "audio_conv_channels, audio_conv_kernel_sizes and audio_conv_pooling must have one entry per conv "
                f"block; got lengths {[len(values) for values in blocks]}"
            )
        if len(self.audio_embedding_grid) != 2:
            raise ValueError(f"audio_embedding_grid must be (mel, time); got {self.audio_embedding_grid}")
        if self.audio_encoder not in AUDIO_ENCODERS:
            raise ValueError(f"audio_encoder must be one of {AUDIO_ENCODERS}; got {self.audio_encoder!r}")
        if self.audio_input_norm not in AUDIO_INPUT_NORMS:
            raise ValueError(f"audio_input_norm must be one of {AUDIO_INPUT_NORMS}; got {self.audio_input_norm!r}")
        if self.unimodal_loss_weight > 0 and self.audio_encoder != "per_utterance":
            raise ValueError(
                "unimodal_loss_weight > 0 needs audio_encoder='per_utterance': the window encoder has no audio "
                "embedding of one utterance alone"
            )
        if not 0.0 < self.class_balanced_beta < 1.0:
            raise ValueError(f"class_balanced_beta must lie in (0, 1); got {self.class_balanced_beta}")
        if self.modalities not in MODALITIES:
            raise ValueError(f"modalities must be one of {MODALITIES}; got {self.modalities!r}")
        if not 0.0 <= self.loss_lambda <= 1.0:
            raise ValueError(f"loss_lambda must lie in [0, 1]; got {self.loss_lambda}")
        if self.unimodal_loss_weight < 0.0:
            raise ValueError(f"unimodal_loss_weight must be >= 0; got {self.unimodal_loss_weight}")
        if self.context_window < 1:
            raise ValueError(f"context_window must be at least 1; got {self.context_window}")
        if self.emotion_class_counts is not None and len(self.emotion_class_counts) != self.num_labels:
            raise ValueError(
                f"emotion_class_counts needs one count per emotion ({self.num_labels}); "
                f"got {len(self.emotion_class_counts)}"
            )

    @property
    def audio_hidden_size(self) -> int:
        """Size of one utterance's (or window position's) audio features (816 by default)."""
        mel_cells, time_cells = self.audio_embedding_grid
        return self.audio_conv_channels[-1] * mel_cells * time_cells

    @property
    def text_hidden_size(self) -> int:
        """Size of one utterance's text embedding (768 by default)."""
        return self.text_config.hidden_size

    @property
    def utterance_hidden_size(self) -> int:
        """Size of the fused audio + text embedding of one utterance (1584 by default)."""
        return self.audio_hidden_size + self.text_hidden_size

    @property
    def dialogue_hidden_size(self) -> int:
        """Size of the flattened LSTM outputs over one window (8 × 512 = 4096 by default)."""
        directions = 2 if self.lstm_bidirectional else 1
        return self.context_window * self.lstm_hidden_size * directions

    def audio_feature_kwargs(self) -> dict:
        """The audio settings a matching `MateFeatureExtractor` is built with."""
        names = ("sampling_rate", "max_duration", "n_fft", "hop_length", "f_min", "f_max", "n_mels")
        return {name: getattr(self, name) for name in names}


def _warn_input_modalities(stacklevel: int) -> None:
    """`stacklevel` counts from this function's caller (2) up to the user's line."""
    warnings.warn("input_modalities is deprecated, use modalities", FutureWarning, stacklevel=stacklevel)


__all__ = ["EMOTION_LABELS", "KOBERT_NAME", "KR_BERT_NAME", "MateConfig"]
