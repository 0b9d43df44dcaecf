"""The graphs exported to ONNX: MATE's eval-mode computation written with static-shape operations only (see the
package docstring for why `MateModel.forward` itself does not export), and the sentence-embedding text encoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..modeling_mate import MateModel


class MateDialogueGraph(nn.Module):
    """`MateModel`'s eval-mode forward from log-mels and sentence embeddings with static-shape operations only, for
    export: every slot of the `(B, T)` grid is predicted from its window, padded slots give zeros.

    Takes keyword inputs `input_features` `(B, T, n_mels, frames)` (with the audio modality), `text_embeds`
    `(B, T, text_hidden_size)` (with the text modality) and `utterance_mask` `(B, T)`; returns `(emotion_probs,
    arousal, valence)`.
    """

    def __init__(self, model: MateModel):
        super().__init__()
        self.model = model.eval()
        self.window = model.config.context_window
        self.grid_pool = StaticAdaptiveMaxPool2d(tuple(model.config.audio_embedding_grid))
        # The eval-mode conv blocks fold their BatchNorm into the conv at every call; folded once here, the graph
        # holds plain conv weights, which the int8 quantiser needs as constants.
        self.conv_weights = nn.ParameterList()
        self.conv_biases = nn.ParameterList()
        with torch.no_grad():
            for block in model.audio_encoder.blocks:
                norm = block.norm
                scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
                self.conv_weights.append(nn.Parameter(block.conv.weight * scale[:, None, None, None], False))
                self.conv_biases.append(nn.Parameter(norm.bias - norm.running_mean * scale, False))

    def forward(
        self,
        utterance_mask: torch.Tensor,
        input_features: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        model, config = self.model, self.model.config
        batch, length = utterance_mask.shape
        present = utterance_mask > 0
        # Slot t's window: slots t − W + 1 … t of the dialogue, i.e. t … t + W − 1 of it padded with W − 1 in front.
        index = torch.arange(length).unsqueeze(1) + torch.arange(self.window).unsqueeze(0)
        if model.uses_audio:
            audio = self._audio_windows(input_features, present, index)
        else:
            audio = utterance_mask.new_zeros(batch * length, self.window, config.audio_hidden_size, dtype=torch.float)
        if model.uses_text:
            text = _windows(torch.where(present.unsqueeze(-1), text_embeds, 0.0), index)
            text = text.reshape(batch * length, self.window, -1)
        else:
            text = audio.new_zeros(batch * length, self.window, config.text_hidden_size)
        features = model.dialogue_encoder(torch.cat([audio, text], dim=-1))
        _, probs, arousal, valence = model.apply_heads(features)
        flat = present.reshape(-1)
        probs = torch.where(flat.unsqueeze(-1), probs, 0.0).reshape(batch, length, -1)
        arousal = torch.where(flat, arousal, 0.0).reshape(batch, length)
        valence = torch.where(flat, valence, 0.0).reshape(batch, length)
        return probs, arousal, valence

    def _audio_windows(self, features: torch.Tensor, present: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """`(B · T, W, audio_hidden_size)`: the audio features of each slot's window."""
        encoder = self.model.audio_encoder
        batch, length = present.shape
        spectrograms = encoder.normalize(features.reshape(batch * length, *features.shape[2:]))
        spectrograms = spectrograms.reshape(batch, length, *spectrograms.shape[1:])
        if self.model.config.audio_encoder == "window_channels":  # the window's spectrograms are one input's channels
            empty = ~present.unsqueeze(-1).unsqueeze(-1)
            windows = _windows(spectrograms.masked_fill(empty, 0.0), index)
            return self._encode(windows.reshape(batch * length, self.window, *windows.shape[3:]))
        embeddings = self._encode(spectrograms.reshape(batch * length, 1, *spectrograms.shape[2:]))
        embeddings = embeddings.reshape(batch, length, -1).masked_fill(~present.unsqueeze(-1), 0.0)
        return _windows(embeddings, index).reshape(batch * length, self.window, -1)

    def _encode(self, spectrograms: torch.Tensor) -> torch.Tensor:
        """`MateAudioEncoder._encode` (eval mode) with the BatchNorms folded and the grid pool written out."""
        hidden = spectrograms
        for block, weight, bias in zip(self.model.audio_encoder.blocks, self.conv_weights, self.conv_biases):
            hidden = block.pool(F.relu(F.conv2d(hidden, weight, bias)))
        return self.grid_pool(hidden).reshape(spectrograms.shape[0], self.model.audio_encoder.positions, -1)


def _windows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`(B, T, ...)` and the `(T, W)` window index → `(B, T, W, ...)`, zeros before each dialogue's start."""
    front = values.new_zeros(values.shape[0], index.shape[1] - 1, *values.shape[2:])
    return torch.cat([front, values], dim=1)[:, index]


class StaticAdaptiveMaxPool2d(nn.Module):
    """`nn.AdaptiveMaxPool2d` for inputs whose spatial size is known when exporting: the max over each bin, bins as
    PyTorch cuts them (`floor(i · size / out)` to `ceil((i + 1) · size / out)`), over rows then over columns."""

    def __init__(self, output_size: tuple[int, int]):
        super().__init__()
        self.output_size = output_size

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        for dim, count in zip((-2, -1), self.output_size):
            if hidden.shape[dim] != count:  # a 10 s clip's map is the default grid already: nothing to pool
                hidden = torch.cat([part.amax(dim=dim, keepdim=True) for part in _bins(hidden, dim, count)], dim=dim)
        return hidden


def _bins(hidden: torch.Tensor, dim: int, count: int) -> list[torch.Tensor]:
    """The `count` adaptive-pooling bins of `hidden` along `dim`."""
    size = int(hidden.shape[dim])
    starts = [(i * size) // count for i in range(count)]
    ends = [-(-(i + 1) * size // count) for i in range(count)]
    return [hidden.narrow(dim, start, end - start) for start, end in zip(starts, ends)]


class MateTextEncoderGraph(nn.Module):
    """The sentence-embedding encoder of `MateModel.embed_text`: token ids `(N, L)` → mean-pooled BERT `(N, H)`."""

    def __init__(self, model: MateModel):
        super().__init__()
        self.encoder = model.text_encoder.eval()

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        return self.encoder(input_ids, attention_mask, token_type_ids)


# ---------------------------------------------------------------------------------------------------------------
# Export
