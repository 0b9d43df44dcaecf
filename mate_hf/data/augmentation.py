"""Training-time augmentation of log-mel features."""

import torch


def shift_into_padding(features: torch.Tensor, padding_value: float) -> torch.Tensor:
    """Move every utterance of `features` (..., n_mels, frames) a random number of frames later.

    The shift of an utterance is drawn uniformly (torch's global generator) from 0 to the number of
    frames after its last one that is not entirely `padding_value`, so no sound leaves the window; the
    frames it opens at the start are `padding_value`. Utterances without sound stay as they are.
    """
    flat = features.reshape(-1, *features.shape[-2:])
    frames = flat.shape[-1]
    sounding = (flat != padding_value).any(dim=1)  # (N, frames)
    trailing = torch.where(sounding.any(dim=1), sounding.flip(1).int().argmax(dim=1), 0)
    shifts = (torch.rand(len(flat)) * (trailing + 1)).long()
    source = torch.arange(frames) - shifts[:, None]  # (N, frames): the input frame each output frame takes
    taken = flat.gather(2, source.clamp(min=0)[:, None, :].expand_as(flat))
    return torch.where(source[:, None, :] >= 0, taken, padding_value).view_as(features)
