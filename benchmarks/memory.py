"""5. Training memory: peak memory of one optimiser step of the kemdy19 recipe at a few small batches of windows,
for a line to extrapolate to the recipe's 64 windows per step."""

from collections.abc import Iterable

import torch

from mate_hf import MateConfig, MateModel

from .inputs import at_last_slot, build_mate, random_log_mels
from .results import MemoryFit
from .settings import Settings
from .timing import peak_cpu_memory
from .training import optimizer_step, recipe_optimizer

# Peak training memory is measured for these variants of the run's model (MateConfig overrides).
MEMORY_CASES = {
    "window_channels (default), unidirectional LSTM": {},
    "window_channels, bidirectional LSTM": {"lstm_bidirectional": True},
    "per_utterance (variant), unidirectional LSTM": {"audio_encoder": "per_utterance"},
}


def complete_windows(config: MateConfig, windows: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A training batch of the recipe as the collator yields it from the caches: `windows` windows with all W slots
    real (the common case, and the largest), cached log-mels and sentence embeddings, the target in the last slot."""
    shape = (windows, config.context_window)
    return {
        "input_features": random_log_mels(config, shape, generator),
        "text_embeds": torch.randn(*shape, config.text_hidden_size, generator=generator),
        "utterance_mask": torch.ones(shape, dtype=torch.long),
        "target_mask": at_last_slot(1, config.context_window).long().expand(shape),
        "labels": torch.rand(*shape, config.num_labels, generator=generator).softmax(-1),
        "arousal_labels": 1 + 4 * torch.rand(shape, generator=generator),
        "valence_labels": 1 + 4 * torch.rand(shape, generator=generator),
    }


def storage_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages behind `tensors` (views of one storage count once)."""
    storages = {tensor.untyped_storage().data_ptr(): tensor.untyped_storage().nbytes() for tensor in tensors}
    return sum(storages.values())


def training_step_peak(model: MateModel, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor]) -> int:
    """Peak bytes of one optimiser step in the steady state: what is held as it begins (weights, buffers, Adam's
    moments, the batch) plus the most torch's CPU allocator adds during it (activations, gradients, Adam's
    temporaries)."""
    optimizer_step(model, optimizer, batch)  # the first step allocates Adam's moments
    optimizer.zero_grad()  # as the next step begins: gradients freed (set to None)
    moments = [value for state in optimizer.state.values() for value in state.values() if torch.is_tensor(value)]
    held = storage_bytes([*model.parameters(), *model.buffers(), *moments, *batch.values()])
    return held + peak_cpu_memory(lambda: optimizer_step(model, optimizer, batch))


def memory_fit(settings: Settings, case: str, overrides: dict) -> MemoryFit:
    model, _ = build_mate(settings, **overrides)
    model.train()
    optimizer = recipe_optimizer(model)
    generator = torch.Generator().manual_seed(3)
    peaks = [
        training_step_peak(model, optimizer, complete_windows(model.config, windows, generator))
        for windows in settings.memory_batches
    ]
    return MemoryFit(case, settings.memory_batches, peaks)


def bench_memory(settings: Settings) -> list[MemoryFit]:
    return [memory_fit(settings, case, overrides) for case, overrides in MEMORY_CASES.items()]
