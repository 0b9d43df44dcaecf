"""MATE: fuse an audio and a text embedding per utterance, read windows of utterances with an LSTM,
predict the emotion distribution, arousal and valence of every utterance of a dialogue."""

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_mate import MateConfig
from .feature_extraction_mate import SILENCE_DB

# Inputs (utterances or windows) the audio encoder runs at once in eval mode: a 10 s clip's conv activations take
# about 40 MB, a window's about 80 MB.
AUDIO_EVAL_CHUNK = 16
# ε of the per-utterance standardisation, BatchNorm's default, as in the authors' code.
STANDARDIZE_EPS = 1e-5


@dataclass
class MateOutput(ModelOutput):
    r"""
    Output of [`MateModel`], for a batch of `B` dialogues of up to `T` utterances. Values at slots with no
    prediction (padded, `utterance_mask == 0`, or context only, `target_mask == 0`) are zeros.

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*): λ · emotion loss + (1 − λ) · (arousal MSE +
            valence MSE) over the target utterances; returned when targets are passed.
        loss_emotion, loss_arousal, loss_valence (`torch.FloatTensor` of shape `()`, *optional*): the three
            components, for logging.
        logits (`torch.FloatTensor` of shape `(B, T, num_labels)`): emotion logits.
        emotion_probs (`torch.FloatTensor` of shape `(B, T, num_labels)`): softmax of `logits`.
        arousal (`torch.FloatTensor` of shape `(B, T)`): predicted arousal in [1, 5].
        valence (`torch.FloatTensor` of shape `(B, T)`): predicted valence in [1, 5].
        dialogue_features (`torch.FloatTensor` of shape `(B, T, context_window × lstm_hidden_size × directions)`):
            flattened LSTM outputs over the window ending at each utterance.
        unimodal_logits (`torch.FloatTensor` of shape `(B, T, M, num_labels)`, *optional*): emotion logits of the
            auxiliary heads that read one utterance's embedding in one modality alone, for the `M` modalities in
            use (audio first); only when `config.unimodal_loss_weight > 0`.
        unimodal_arousal, unimodal_valence (`torch.FloatTensor` of shape `(B, T, M)`, *optional*): their arousal
            and valence in [1, 5].
    """

    loss: torch.FloatTensor | None = None
    loss_emotion: torch.FloatTensor | None = None
    loss_arousal: torch.FloatTensor | None = None
    loss_valence: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    emotion_probs: torch.FloatTensor | None = None
    arousal: torch.FloatTensor | None = None
    valence: torch.FloatTensor | None = None
    dialogue_features: torch.FloatTensor | None = None
    unimodal_logits: torch.FloatTensor | None = None
    unimodal_arousal: torch.FloatTensor | None = None
    unimodal_valence: torch.FloatTensor | None = None


class MateConvBlock(nn.Module):
    """Conv2d (no bias) → BatchNorm2d → ReLU → optional 2 × 2 max-pool."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, pool: bool):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.training:
            hidden = self.norm(self.conv(hidden))
        else:
            # Running statistics are constants: folded into the conv, the BatchNorm needs no pass of its own.
            scale = self.norm.weight * torch.rsqrt(self.norm.running_var + self.norm.eps)
            weight = self.conv.weight * scale[:, None, None, None]
            hidden = F.conv2d(hidden, weight, self.norm.bias - self.norm.running_mean * scale)
        return self.pool(F.relu(hidden, inplace=True))


class MateAudioEncoder(nn.Module):
    """Log-mel spectrograms → audio features: input normalisation, 4 conv blocks, an adaptive max-pool to
    `audio_embedding_grid`.

    With `audio_encoder="window_channels"` (the paper's) the convolutions read a window's W = `context_window`
    spectrograms as W input channels, and their `W × audio_conv_channels[-1]` output channels come in W groups,
    group i being window position i's features. With `"per_utterance"` they read one spectrogram (W = 1).
    Gives `(M, W, audio_hidden_size)` for M inputs (816 features per position by default). A 10 s clip (229 × 313)
    lands on the 24 × 34 grid exactly; other sizes are pooled onto it, and inputs too small for the convolutions
    are padded with silence before normalisation.
    """

    def __init__(self, config: MateConfig):
        super().__init__()
        # Absent in "standardize" mode, which has no parameters: state dicts then hold no `input_norm` entries.
        self.input_norm = nn.BatchNorm2d(1) if config.audio_input_norm == "batch_norm" else None
        self.positions = config.context_window if config.audio_encoder == "window_channels" else 1
        *hidden, per_position = config.audio_conv_channels
        in_channels = [self.positions, *hidden]
        out_channels = [*hidden, self.positions * per_position]
        self.blocks = nn.ModuleList(
            MateConvBlock(c_in, c_out, kernel, pool)
            for c_in, c_out, kernel, pool in zip(
                in_channels, out_channels, config.audio_conv_kernel_sizes, config.audio_conv_pooling
            )
        )
        self.grid_pool = nn.AdaptiveMaxPool2d(tuple(config.audio_embedding_grid))
        self.min_input_size = _min_input_size(config)

    def normalize(self, features: torch.Tensor) -> torch.Tensor:
        """`(N, n_mels, frames)` log-mels of N real utterances → their normalised spectrograms, padded to the
        smallest size the convolutions accept."""
        features = self._pad_to_min_size(features)
        if self.input_norm is not None:
            return self.input_norm(features.unsqueeze(1)).squeeze(1)
        return standardize(features)

    def forward(self, features: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """`features` `(N, n_mels, frames)`: log-mels of N real utterances; `inputs` `(M, W)`: for each of M encoder
        inputs, the rows of `features` in its W channels (−1: an empty slot, all zeros after normalisation) →
        `(M, W, audio_hidden_size)`."""
        spectrograms = self.normalize(features)
        if self.training:  # batch statistics: the whole batch at once
            return self._encode(_take_rows(spectrograms, inputs))
        # Running statistics make inputs independent: a few at a time keeps peak memory flat in dialogue length.
        return torch.cat([self._encode(_take_rows(spectrograms, chunk)) for chunk in inputs.split(AUDIO_EVAL_CHUNK)])

    def _encode(self, spectrograms: torch.Tensor) -> torch.Tensor:
        hidden = spectrograms
        for block in self.blocks:
            # Channels-last: on CPU a 2 × 2 max-pool over NCHW is ~18× slower, as slow as the conv before it.
            hidden = block(hidden.contiguous(memory_format=torch.channels_last))
        return self.grid_pool(hidden).reshape(len(spectrograms), self.positions, -1)

    def _pad_to_min_size(self, features: torch.Tensor) -> torch.Tensor:
        missing_mels = max(0, self.min_input_size - features.shape[-2])
        missing_frames = max(0, self.min_input_size - features.shape[-1])
        if missing_mels or missing_frames:
            # The feature extractor's padding value: the same as having zero-padded the waveform further.
            features = F.pad(features, (0, missing_frames, 0, missing_mels), value=SILENCE_DB)
        return features


def standardize(features: torch.Tensor) -> torch.Tensor:
    """Each `(n_mels, frames)` spectrogram of `(N, n_mels, frames)` to zero mean and unit variance over all its cells
    (biased variance, ε = 1e-5): what the authors' untrained `BatchNorm2d(1)`, run in training mode on one utterance
    at a time, computed."""
    mean = features.mean(dim=(-2, -1), keepdim=True)
    variance = features.var(dim=(-2, -1), keepdim=True, correction=0)
    return (features - mean) * torch.rsqrt(variance + STANDARDIZE_EPS)


def _min_input_size(config: MateConfig) -> int:
    """Smallest spectrogram side that survives every conv and pool with at least one cell left."""
    size = 1
    for kernel, pool in reversed(list(zip(config.audio_conv_kernel_sizes, config.audio_conv_pooling))):
        size = (2 * size if pool else size) + kernel - 1
    return size


class MateTextEncoder(nn.Module):
    """Token ids → sentence embedding: a BERT-family encoder, mean-pooled over the attention mask.

    `input_ids`, `attention_mask` of shape `(N, L)` → `(N, text_hidden_size)` (N, 768 by default).
    When `freeze` is set, the encoder runs without gradients and stays in eval mode (no dropout),
    i.e. it yields fixed sentence embeddings.
    """

    def __init__(self, config: MateConfig):
        super().__init__()
        self.bert = AutoModel.from_config(config.text_config, add_pooling_layer=False)
        self.freeze = config.freeze_text_encoder
        self.apply_freeze()

    def apply_freeze(self) -> None:
        """Mark the encoder's parameters trainable or not, as `freeze` says."""
        self.bert.requires_grad_(not self.freeze)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:
            self.bert.eval()
        return self

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class MateMLP(nn.Module):
    """Stack of Linear → ReLU → BatchNorm1d blocks, optionally followed by a plain Linear output layer."""

    def __init__(self, in_features: int, hidden_sizes, out_features: int | None = None):
        super().__init__()
        layers = []
        for size in hidden_sizes:
            layers += [nn.Linear(in_features, size), nn.ReLU(), nn.BatchNorm1d(size)]
            in_features = size
        if out_features is not None:
            layers.append(nn.Linear(in_features, out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.layers(hidden)


def affect_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Unbounded regressor outputs → arousal or valence in [1, 5]."""
    return 4.0 * torch.sigmoid(logits) + 1.0


class MateUnimodalHeads(nn.Module):
    """Auxiliary training heads: for each modality the model uses, one linear layer maps that modality's embedding
    of an utterance alone (no context) to emotion logits, arousal and valence, so that each encoder learns from
    its own modality."""

    def __init__(self, config: MateConfig, modalities: tuple[str, ...]):
        super().__init__()
        self.sizes = {"audio": config.audio_hidden_size, "text": config.text_hidden_size}
        self.heads = nn.ModuleDict({name: nn.Linear(self.sizes[name], config.num_labels + 2) for name in modalities})

    def forward(self, utterances: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Utterance embeddings `(N, audio + text)` → logits `(N, M, num_labels)`, arousal and valence `(N, M)`,
        for the `M` modalities in use, audio first."""
        parts = dict(zip(self.sizes, utterances.split(list(self.sizes.values()), dim=-1)))
        outputs = torch.stack([head(parts[name]) for name, head in self.heads.items()], dim=1)
        logits, arousal, valence = outputs.split([outputs.shape[-1] - 2, 1, 1], dim=-1)
        return logits, affect_from_logits(arousal.squeeze(-1)), affect_from_logits(valence.squeeze(-1))


class MateDialogueEncoder(nn.Module):
    """Windows of utterance embeddings → one dialogue feature per target utterance.

    `(N, W, utterance_hidden_size)` → LSTM → its W outputs flattened: `(N, W · lstm_hidden_size · directions)`.
    """

    def __init__(self, config: MateConfig):
        super().__init__()
        self.lstm = nn.LSTM(
            input_size=config.utterance_hidden_size,
            hidden_size=config.lstm_hidden_size,
            num_layers=config.lstm_num_layers,
            dropout=config.lstm_dropout if config.lstm_num_layers > 1 else 0.0,
            bidirectional=config.lstm_bidirectional,
            batch_first=True,
        )

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(windows)
        return outputs.flatten(1)


class MatePreTrainedModel(PreTrainedModel):
    config_class = MateConfig
    base_model_prefix = "mate"
    main_input_name = "input_features"
    # transformers' attribute: the inputs the architecture can take. Which ones a model uses is `config.modalities`.
    input_modalities = ("audio", "text")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, use_safetensors: bool | None = True, **kwargs):
        """`PreTrainedModel.from_pretrained`, reading weights from safetensors only: unpickling a
        `pytorch_model.bin` can run code, so it is refused unless the caller passes `use_safetensors=False`."""
        folder = Path(str(pretrained_model_name_or_path))
        if use_safetensors and folder.is_dir() and not any(folder.glob("*.safetensors")) and any(folder.glob("*.bin")):
            raise OSError(
                f"{folder} holds pickled weights (.bin) and no .safetensors: MATE loads safetensors only, as "
                "unpickling can run code. Convert the file, or pass use_safetensors=False if you trust its source"
            )
        model = super().from_pretrained(pretrained_model_name_or_path, *args, use_safetensors=use_safetensors, **kwargs)
        # Loading swaps in new parameters (trainable by default), which would undo the freeze set in __init__.
        model.text_encoder.apply_freeze()
        return model

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Conv2d):
            init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)
        elif isinstance(module, nn.LSTM):
            for name, parameter in module.named_parameters():
                if name.startswith("weight_ih"):
                    init.xavier_uniform_(parameter)
                elif name.startswith("weight_hh"):
                    init.orthogonal_(parameter)
                else:
                    init.zeros_(parameter)


class MateModel(MatePreTrainedModel):
    r"""
    MATE for emotion recognition in conversation. Each target utterance is read with the `context_window` − 1
    utterances before it (zeros before the dialogue's start): per window position, audio features (816) and a
    text embedding (BERT, mean-pooled, 768) are concatenated (1584); an LSTM reads the window; an emotion head
    gives 7 logits and an affective head arousal and valence in [1, 5].

    The audio features come from the window's spectrograms as the input channels of one CNN pass per target
    (`audio_encoder="window_channels"`, the paper's), or from each utterance encoded once on its own
    (`"per_utterance"`). Either way each target's window is computed once per forward, an utterance that is only
    context (`target_mask` 0) costs no window, and padded utterance slots never reach an encoder or a BatchNorm, so
    a dialogue's predictions do not depend on the batch it is padded into (in eval mode).

    Example:

    ```python
    >>> import torch
    >>> from mate_hf import MateConfig, MateModel

    >>> text = {"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    >>> model = MateModel(MateConfig(n_mels=64, lstm_hidden_size=16, text_config=text)).eval()  # small, untrained
    >>> _ = torch.manual_seed(0)
    >>> input_features = torch.randn(2, 3, 64, 63)  # 2 dialogues of up to 3 utterances: log-mels (n_mels, frames)
    >>> input_ids = torch.randint(5, 100, (2, 3, 12))  # and their transcripts' token ids, 12 per utterance
    >>> utterance_mask = torch.tensor([[1, 1, 1], [1, 1, 0]])  # the second dialogue has 2 utterances
    >>> with torch.no_grad():
    ...     outputs = model(input_features=input_features, input_ids=input_ids, utterance_mask=utterance_mask)
    >>> outputs.emotion_probs.shape, outputs.arousal.shape, outputs.valence.shape  # 7 emotions, 2 scores in [1, 5]
    (torch.Size([2, 3, 7]), torch.Size([2, 3]), torch.Size([2, 3]))

    ```
    """

    def __init__(self, config: MateConfig):
        super().__init__(config)
        modalities = tuple(config.modalities.split("+"))  # audio first, as in the utterance embedding
        self.uses_audio = "audio" in modalities
        self.uses_text = "text" in modalities
        self.audio_encoder = MateAudioEncoder(config)
        self.text_encoder = MateTextEncoder(config)
        self.dialogue_encoder = MateDialogueEncoder(config)
        self.emotion_head = MateMLP(config.dialogue_hidden_size, config.emotion_head_sizes, config.num_labels)
        self.affective_head = MateMLP(config.dialogue_hidden_size, config.affective_head_sizes)
        regressor_inputs = config.affective_head_sizes[-1] + (config.num_labels if config.concat_emotion else 0)
        self.arousal_head = MateMLP(regressor_inputs, config.affective_regressor_sizes, 1)
        self.valence_head = MateMLP(regressor_inputs, config.affective_regressor_sizes, 1)
        self.unimodal_heads = MateUnimodalHeads(config, modalities) if config.unimodal_loss_weight > 0 else None
        self.post_init()

    @classmethod
    def from_pretrained_text_encoder(
        cls, text_encoder_name_or_path: str, config: MateConfig | None = None, **kwargs
    ) -> "MateModel":
        """Build a MATE whose text encoder starts from a pretrained BERT-family checkpoint.

        Args:
            text_encoder_name_or_path: local folder or Hub id, e.g. `"snunlp/KR-BERT-char16424"`.
            config: MATE settings; its `text_config` is replaced by the checkpoint's.
            kwargs: passed to `AutoModel.from_pretrained` (revision, cache_dir, local_files_only…).
        """
        text_model, loading_info = AutoModel.from_pretrained(
            text_encoder_name_or_path, add_pooling_layer=False, output_loading_info=True, **kwargs
        )
        if loading_info["missing_keys"]:
            missing = sorted(loading_info["missing_keys"])
            raise ValueError(f"{text_encoder_name_or_path} lacks text-encoder weights, e.g. {missing[:5]}")
        config = copy.deepcopy(config) if config is not None else MateConfig()
        config.text_config = text_model.config
        model = cls(config)
        model.text_encoder.bert.load_state_dict(text_model.state_dict())
        return model

    def forward(
        self,
        input_features: torch.FloatTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        text_embeds: torch.FloatTensor | None = None,
        utterance_mask: torch.LongTensor | None = None,
        labels: torch.FloatTensor | None = None,
        arousal_labels: torch.FloatTensor | None = None,
        valence_labels: torch.FloatTensor | None = None,
        target_mask: torch.LongTensor | None = None,
        return_dict: bool | None = None,
    ) -> MateOutput:
        r"""
        Args:
            input_features (`torch.FloatTensor` of shape `(B, T, n_mels, frames)`): log-mel spectrograms from
                [`MateFeatureExtractor`].
            input_ids, attention_mask, token_type_ids (`torch.LongTensor` of shape `(B, T, L)`): tokenized transcripts.
            text_embeds (`torch.FloatTensor` of shape `(B, T, text_hidden_size)`): precomputed sentence embeddings,
                instead of `input_ids`.
            utterance_mask (`torch.LongTensor` of shape `(B, T)`): 1 for real utterances, 0 for padded slots.
                Defaults to all ones.
            labels (`torch.FloatTensor` of shape `(B, T, num_labels)`): target emotion distributions (evaluator
                votes / evaluators).
            arousal_labels, valence_labels (`torch.FloatTensor` of shape `(B, T)`): target arousal and valence (1–5).
            target_mask (`torch.LongTensor` of shape `(B, T)`): the utterances to predict (and, with targets, that
                count in the loss); defaults to `utterance_mask`. Context-only utterances (earlier turns carried
                along to fill a window) are real but not targets: they are read in windows and get no prediction.

        Returns:
            [`MateOutput`] with `logits`/`emotion_probs` `(B, T, num_labels)`, `arousal`/`valence` `(B, T)`,
            `dialogue_features` `(B, T, dialogue_hidden_size)` (zeros where no prediction was made) and, when
            targets are given, the loss.
        """
        batch, length = self._batch_shape(input_features, input_ids, text_embeds)
        device = self.dialogue_encoder.lstm.weight_ih_l0.device
        if utterance_mask is None:
            utterance_mask = torch.ones(batch, length, dtype=torch.long, device=device)
        present = utterance_mask.reshape(-1).bool()
        valid = present.nonzero().squeeze(1)  # flat indices of the real utterances
        if valid.numel() == 0:
            raise ValueError("utterance_mask marks no utterance as present")
        is_target = present if target_mask is None else present & (target_mask.reshape(-1) > 0)
        targets = is_target.nonzero().squeeze(1)  # flat indices of the utterances to predict
        if targets.numel() == 0:
            raise ValueError("target_mask marks no present utterance as a target")

        windows = _window_rows(utterance_mask, valid, targets, self.config.context_window)
        fused = torch.cat(
            [
                self._audio_windows(valid, windows, input_features),
                self._text_windows(valid, windows, input_ids, attention_mask, token_type_ids, text_embeds),
            ],
            dim=-1,
        )
        dialogue_features = self.dialogue_encoder(fused)

        logits, probs, arousal, valence = self.apply_heads(dialogue_features)
        output = MateOutput(
            logits=_scatter(logits, targets, batch, length),
            emotion_probs=_scatter(probs, targets, batch, length),
            arousal=_scatter(arousal, targets, batch, length),
            valence=_scatter(valence, targets, batch, length),
            dialogue_features=_scatter(dialogue_features, targets, batch, length),
        )
        if self.unimodal_heads is not None:
            # A window's last position is its target's own utterance embedding (per-utterance encoder).
            unimodal = self.unimodal_heads(fused[:, -1])
            output.unimodal_logits, output.unimodal_arousal, output.unimodal_valence = (
                _scatter(values, targets, batch, length) for values in unimodal
            )
        if labels is not None:
            output.loss, output.loss_emotion, output.loss_arousal, output.loss_valence = mate_loss(
                output, labels, arousal_labels, valence_labels, is_target.view(batch, length), self.config
            )
        return output

    def apply_heads(self, dialogue_features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Dialogue features `(N, dialogue_hidden_size)` → logits, emotion probabilities `(N, num_labels)`,
        arousal and valence `(N,)` in [1, 5]."""
        logits = self.emotion_head(dialogue_features)
        probs = logits.softmax(-1)
        affective = self.affective_head(dialogue_features)
        if self.config.concat_emotion:
            affective = torch.cat([affective, probs], dim=-1)
        arousal = affect_from_logits(self.arousal_head(affective).squeeze(-1))
        valence = affect_from_logits(self.valence_head(affective).squeeze(-1))
        return logits, probs, arousal, valence

    @staticmethod
    def _batch_shape(input_features, input_ids, text_embeds) -> tuple[int, int]:
        for tensor in (input_features, input_ids, text_embeds):
            if tensor is not None:
                return tensor.shape[0], tensor.shape[1]
        raise ValueError("MATE needs input_features, input_ids or text_embeds")

    def _audio_windows(self, valid: torch.Tensor, windows: torch.Tensor, input_features) -> torch.Tensor:
        """Audio features of each target's window, `(N, W, audio_hidden_size)`; zeros without the audio modality."""
        if not self.uses_audio:
            return self._zeros(windows, self.config.audio_hidden_size)
        if input_features is None:
            raise ValueError(f"modalities={self.config.modalities!r} needs input_features")
        features = _gather(input_features, valid)
        if self.config.audio_encoder == "window_channels":  # the window's spectrograms are one input's channels
            return self.audio_encoder(features, windows)
        each_once = torch.arange(len(valid), device=valid.device).unsqueeze(1)
        return _take_rows(self.audio_encoder(features, each_once).squeeze(1), windows)

    def _text_windows(self, valid, windows, input_ids, attention_mask, token_type_ids, text_embeds) -> torch.Tensor:
        """Sentence embeddings of each target's window, `(N, W, text_hidden_size)`, each utterance encoded once;
        zeros without the text modality."""
        if not self.uses_text:
            return self._zeros(windows, self.config.text_hidden_size)
        if text_embeds is not None:
            return _take_rows(_gather(text_embeds, valid), windows)
        if input_ids is None:
            raise ValueError(f"modalities={self.config.modalities!r} needs input_ids or text_embeds")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        token_types = None if token_type_ids is None else _gather(token_type_ids, valid)
        embeds = self.text_encoder(_gather(input_ids, valid), _gather(attention_mask, valid), token_types)
        return _take_rows(embeds, windows)

    def _zeros(self, windows: torch.Tensor, size: int) -> torch.Tensor:
        weight = self.dialogue_encoder.lstm.weight_ih_l0
        return weight.new_zeros(*windows.shape, size)

    @torch.no_grad()
    def embed_text(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Sentence embeddings of tokenized utterances `(..., L)` → `(..., text_hidden_size)`, e.g. to cache
        `text_embeds` once when the text encoder is frozen."""
        flat_ids = input_ids.reshape(-1, input_ids.shape[-1])
        flat_types = None if token_type_ids is None else token_type_ids.reshape(flat_ids.shape)
        embeds = self.text_encoder(flat_ids, attention_mask.reshape(flat_ids.shape), flat_types)
        return embeds.reshape(*input_ids.shape[:-1], -1)


def _gather(tensor: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """`(B, T, ...)` → `(N, ...)`: the rows of the real utterances."""
    return tensor.reshape(-1, *tensor.shape[2:])[valid]


def _scatter(values: torch.Tensor, rows: torch.Tensor, batch: int, length: int) -> torch.Tensor:
    """`(N, ...)` values of the flat slots `rows` → `(B, T, ...)` with zeros elsewhere."""
    full = values.new_zeros(batch * length, *values.shape[1:])
    return full.index_copy(0, rows, values).view(batch, length, *values.shape[1:])


def _window_rows(utterance_mask: torch.Tensor, valid: torch.Tensor, targets: torch.Tensor, window: int) -> torch.Tensor:
    """`(N, window)`: for each target (a flat index into B · T), the rows in `valid` of the utterances of its window,
    oldest first and the target last; −1 for a slot before the dialogue's start or at a padded position."""
    length = utterance_mask.shape[1]
    row_of_slot = torch.full((utterance_mask.numel(),), -1, dtype=torch.long, device=valid.device)
    row_of_slot[valid] = torch.arange(len(valid), device=valid.device)
    offsets = torch.arange(1 - window, 1, device=valid.device)
    before_start = (targets % length).unsqueeze(1) + offsets < 0
    rows = row_of_slot[(targets.unsqueeze(1) + offsets).clamp(min=0)]
    return rows.masked_fill(before_start, -1)


def _take_rows(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """`table[rows]` for `table` `(N, ...)` and `rows` `(M, W)`, with zeros where a row is −1 → `(M, W, ...)`."""
    return torch.cat([table.new_zeros(1, *table.shape[1:]), table])[rows + 1]


def class_balanced_weights(class_counts, beta: float) -> torch.Tensor:
    """The authors' class-balanced weights (their `CBDoRaeMiSoLoss`): `w_j = (1 − β) / (1 − β^n_j)` with
    `n_j = int(count_j / min_k count_k)`, the class's count over the rarest class's, truncated; not normalised.

    With raw counts for `n_j` instead, β = 0.9 would give every KEMDy19 class a weight of 1.0 (no balancing). A
    class absent from the training targets (count 0) would divide by zero in their formula: here it gets weight 0
    (its BCE term is dropped) and the minimum is taken over the classes present.

    Args:
        class_counts: per class, the training targets whose majority label set contains it.
        beta: β in (0, 1).

    Returns:
        `torch.FloatTensor` of shape `(num_classes,)`.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64)
    present = counts > 0
    if not present.any():
        raise ValueError(f"class-balanced weights need at least one class with training targets; got {class_counts}")
    ratios = torch.floor(counts / counts[present].min())
    weights = torch.where(present, (1.0 - beta) / (1.0 - beta ** ratios.clamp(min=1.0)), torch.zeros_like(counts))
    return weights.float()


def mate_loss(
    output: MateOutput,
    labels: torch.Tensor,
    arousal_labels: torch.Tensor | None,
    valence_labels: torch.Tensor | None,
    target_mask: torch.Tensor,
    config: MateConfig,
    num_targets: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The MATE objective over the target utterances: λ · emotion + (1 − λ) · (MSE(arousal) + MSE(valence)).

    The emotion term is KL(votes ‖ predicted) per utterance (`loss_type="kl"`), or class-weighted binary
    cross-entropy between predicted probabilities and the vote distribution, averaged over the classes
    (`loss_type="class_balanced"`). Padded and context-only utterances never contribute. When `output` carries
    the auxiliary unimodal predictions, the total adds `config.unimodal_loss_weight` times the same objective of
    each of them; the returned components are the main heads'.

    Each term is a sum over target utterances divided by `num_targets`, which defaults to the number of
    targets here (a plain mean: KL `batchmean`, MSE `mean`). A trainer passes the number of targets in
    the whole accumulated (and distributed) batch, so that micro-batches of any size add up to the
    gradient of one big batch.

    Returns:
        `(total, emotion, arousal, valence)`, each a scalar.
    """
    if arousal_labels is None or valence_labels is None:
        raise ValueError("labels were given without arousal_labels and valence_labels; MATE trains all three")
    targets = target_mask.reshape(-1) > 0
    if num_targets is None:
        num_targets = max(int(targets.sum()), 1)
    # The targets' truth, selected once for the main heads and every auxiliary head.
    dtype = output.logits.dtype
    truth = (
        labels.reshape(-1, labels.shape[-1])[targets].to(dtype),
        arousal_labels.reshape(-1)[targets].to(dtype),
        valence_labels.reshape(-1)[targets].to(dtype),
    )
    emotion, arousal, valence = _terms(
        output.logits, output.arousal, output.valence, truth, targets, num_targets, config
    )
    total = _weighted(emotion, arousal, valence, config)
    if output.unimodal_logits is not None:
        for modality in range(output.unimodal_logits.shape[2]):
            head_terms = _terms(
                output.unimodal_logits[:, :, modality],
                output.unimodal_arousal[..., modality],
                output.unimodal_valence[..., modality],
                truth,
                targets,
                num_targets,
                config,
            )
            total = total + config.unimodal_loss_weight * _weighted(*head_terms, config)
    return total, emotion, arousal, valence


def _weighted(emotion: torch.Tensor, arousal: torch.Tensor, valence: torch.Tensor, config: MateConfig) -> torch.Tensor:
    return config.loss_lambda * emotion + (1.0 - config.loss_lambda) * (arousal + valence)


def _terms(
    logits: torch.Tensor,
    arousal: torch.Tensor,
    valence: torch.Tensor,
    truth: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    targets: torch.Tensor,
    num_targets: torch.Tensor | float,
    config: MateConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Emotion, arousal and valence losses of the predictions at the `targets` (a flat boolean mask over B · T),
    summed and divided by `num_targets`; `truth` holds the targets' votes `(n, num_labels)`, arousal and valence
    `(n,)`."""
    votes, true_arousal, true_valence = truth
    logits = logits.reshape(-1, logits.shape[-1])[targets]
    if config.loss_type == "kl":
        emotion = F.kl_div(logits.log_softmax(-1), votes, reduction="sum")
    else:
        if config.emotion_class_counts is None:
            raise ValueError("loss_type='class_balanced' needs config.emotion_class_counts (from the training split)")
        weights = class_balanced_weights(config.emotion_class_counts, config.class_balanced_beta).to(logits.device)
        # As nn.BCELoss over softmax probabilities (the authors'): its log is floored at −100, no clamping needed.
        probs = logits.softmax(-1)
        emotion = F.binary_cross_entropy(probs, votes, weight=weights.expand_as(probs), reduction="sum")
        emotion = emotion / probs.shape[-1]
    arousal = F.mse_loss(arousal.reshape(-1)[targets], true_arousal, reduction="sum")
    valence = F.mse_loss(valence.reshape(-1)[targets], true_valence, reduction="sum")
    return emotion / num_targets, arousal / num_targets, valence / num_targets


__all__ = ["MateModel", "MateOutput", "MatePreTrainedModel", "class_balanced_weights", "mate_loss"]
