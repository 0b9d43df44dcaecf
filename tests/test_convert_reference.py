"""Converting the authors' checkpoints: their state dict in, a MATE folder out that predicts what their model does.

The authors' model (`DoRaeMiSol_lstm`, SPEC §1) is written out below with torch functions over their own tensor
names, independently of mate_hf's modules, and compared with the converted MATE on the same dialogue.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, BertConfig, BertModel

from mate_hf import load_mate_pipeline
from mate_hf.cli import main as cli_main
from mate_hf.convert_reference import convert_reference_checkpoint

# Every key and shape of the authors' checkpoints, as listed beside the spec (shared/reference-state-dict.txt).
REFERENCE_LISTING = Path(__file__).resolve().parent / "fixtures" / "reference-state-dict.txt"
# Their fixed architecture: conv blocks (in → out channels, kernel, max-pool), MLP widths.
CONV_BLOCKS = [("W", 32, 3, False), (32, 48, 3, True), (48, 32, 5, True), (32, "W", 7, True)]
EMOTION_BLOCKS, AFFECTIVE_BLOCKS, REGRESSOR_BLOCKS = [2048, 512, 256, 64], [2048, 1024, 512], [128, 32]
N_MELS, FRAMES, TEXT = 229, 313, 768


def authors_shapes(window: int, hidden: int, layers: int, bidirectional: bool) -> dict[str, tuple[int, ...]]:
    """Every tensor name and shape of `DoRaeMiSol_lstm(hidden_size, num_layers, ws=window, bidirectional)`."""
    shapes = {}
    for index, (c_in, c_out, kernel, _) in enumerate(CONV_BLOCKS):
        c_in, c_out = (window if c == "W" else c for c in (c_in, c_out))
        shapes[f"audio_embedding.{index}.conv.weight"] = (c_out, c_in, kernel, kernel)
        shapes.update(_batchnorm(f"audio_embedding.{index}.bn", c_out))
    directions = 2 if bidirectional else 1
    for layer in range(layers):
        inputs = 816 + TEXT if layer == 0 else hidden * directions
        for suffix in ["", "_reverse"][:directions]:
            shapes[f"lstm.weight_ih_l{layer}{suffix}"] = (4 * hidden, inputs)
            shapes[f"lstm.weight_hh_l{layer}{suffix}"] = (4 * hidden, hidden)
            shapes[f"lstm.bias_ih_l{layer}{suffix}"] = (4 * hidden,)
            shapes[f"lstm.bias_hh_l{layer}{suffix}"] = (4 * hidden,)
    flat = window * hidden * directions
    shapes.update(_mlp("mlp_emotion", flat, EMOTION_BLOCKS, 7))
    shapes.update(_mlp("mlp_av", flat, AFFECTIVE_BLOCKS, None))
    for name in ("mlp_arousal", "mlp_valence"):
        shapes.update(_mlp(name, AFFECTIVE_BLOCKS[-1] + 7, REGRESSOR_BLOCKS, 1))
    return shapes


def _batchnorm(prefix: str, size: int) -> dict:
    names = ("weight", "bias", "running_mean", "running_var")
    return {**{f"{prefix}.{name}": (size,) for name in names}, f"{prefix}.num_batches_tracked": ()}


def _mlp(prefix: str, width: int, blocks: list[int], out: int | None) -> dict:
    shapes = {}
    for index, size in enumerate(blocks):
        shapes[f"{prefix}.{index}.fc.0.weight"], shapes[f"{prefix}.{index}.fc.0.bias"] = (size, width), (size,)
        shapes.update(_batchnorm(f"{prefix}.{index}.fc.2", size))
        width = size
    if out is not None:
        shapes[f"{prefix}.{len(blocks)}.weight"], shapes[f"{prefix}.{len(blocks)}.bias"] = (out, width), (out,)
    return shapes


def authors_state_dict(seed: int, **architecture) -> dict[str, torch.Tensor]:
    """Random weights and trained-looking BatchNorm statistics under the authors' names."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in authors_shapes(**architecture).items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(1000)
        elif name.endswith("running_var") or name.endswith(("bn.weight", "fc.2.weight")):
            state[name] = torch.rand(shape, generator=generator) + 0.5
        else:
            fan_in = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1) if len(shape) > 1 else 10
            state[name] = torch.randn(shape, generator=generator) / fan_in**0.5
    return state


def authors_forward(state: dict[str, torch.Tensor], spectrograms: torch.Tensor, text: torch.Tensor, hidden: int):
    """SPEC §1 written out: `spectrograms` (B, W, 229, 313) standardised (zeros before the dialogue's start),
    `text` (B, W, 768) → emotion probabilities (B, 7), arousal and valence (B,)."""
    batch, window = spectrograms.shape[:2]
    x = spectrograms
    for index, (_, _, _, pool) in enumerate(CONV_BLOCKS):
        x = F.conv2d(x, state[f"audio_embedding.{index}.conv.weight"])
        x = F.relu(_batchnorm_eval(x, state, f"audio_embedding.{index}.bn"))
        x = F.max_pool2d(x, 2) if pool else x
    audio = x.reshape(batch, window, -1)  # output channel i: position i's 24 x 34 = 816 features
    layers = 1 + max(int(m[1]) for k in state if (m := re.fullmatch(r"lstm\.weight_ih_l(\d+)", k)))
    bidirectional = "lstm.weight_ih_l0_reverse" in state
    lstm = nn.LSTM(816 + TEXT, hidden, layers, batch_first=True, bidirectional=bidirectional)
    lstm.load_state_dict({name[len("lstm.") :]: value for name, value in state.items() if name.startswith("lstm.")})
    outputs, _ = lstm(torch.cat([audio, text], -1))
    flat = outputs.reshape(batch, -1)
    emotion = _mlp_forward(state, "mlp_emotion", flat, len(EMOTION_BLOCKS), final=True).softmax(-1)
    affective = torch.cat([_mlp_forward(state, "mlp_av", flat, len(AFFECTIVE_BLOCKS), final=False), emotion], -1)
    arousal = 4 * torch.sigmoid(_mlp_forward(state, "mlp_arousal", affective, 2, final=True)) + 1
    valence = 4 * torch.sigmoid(_mlp_forward(state, "mlp_valence", affective, 2, final=True)) + 1
    return emotion, arousal.squeeze(-1), valence.squeeze(-1)


def _batchnorm_eval(x: torch.Tensor, state: dict, prefix: str) -> torch.Tensor:
    return F.batch_norm(
        x,
        state[f"{prefix}.running_mean"],
        state[f"{prefix}.running_var"],
        state[f"{prefix}.weight"],
        state[f"{prefix}.bias"],
        training=False,
        eps=1e-5,
    )


def _mlp_forward(state: dict, prefix: str, x: torch.Tensor, blocks: int, final: bool) -> torch.Tensor:
    for index in range(blocks):
        x = F.relu(F.linear(x, state[f"{prefix}.{index}.fc.0.weight"], state[f"{prefix}.{index}.fc.0.bias"]))
        x = _batchnorm_eval(x, state, f"{prefix}.{index}.fc.2")
    if final:
        x = F.linear(x, state[f"{prefix}.{blocks}.weight"], state[f"{prefix}.{blocks}.bias"])
    return x


def _standardised_windows(log_mels: torch.Tensor, window: int) -> torch.Tensor:
    """(T, 229, 313) → (T, W, 229, 313): each utterance standardised on its own (biased variance, ε 1e-5), the
    window of each target with zeros before the dialogue's start, as their Dataset built it."""
    mean = log_mels.mean(dim=(1, 2), keepdim=True)
    std = torch.sqrt(log_mels.var(dim=(1, 2), keepdim=True, unbiased=False) + 1e-5)
    padded = torch.cat([torch.zeros(window - 1, N_MELS, FRAMES), (log_mels - mean) / std])
    return torch.stack([padded[t : t + window] for t in range(len(log_mels))])


def _dialogue(length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mels of `length` utterances (the quiet tail at −100 dB, as zero-padded clips give) and their sentence
    embeddings."""
    generator = torch.Generator().manual_seed(seed)
    log_mels = torch.randn(length, N_MELS, FRAMES, generator=generator) * 15 - 40
    for index in range(length):
        log_mels[index, :, 60 + 25 * index :] = -100.0
    return log_mels, torch.randn(length, TEXT, generator=generator)


@pytest.mark.parametrize("bidirectional, parameters", [(False, 31_424_377), (True, 65_093_497)])
def test_the_authors_names_and_shapes_written_here_are_their_checkpoints(bidirectional, parameters):
    """The listing of every key and shape of their checkpoints (window 8, hidden 512, 4 layers) is what this test
    module builds, so the conversion tests below read real checkpoint layouts."""
    text = REFERENCE_LISTING.read_text(encoding="utf-8")
    section = text.split(f"## bidirectional={bidirectional}")[1].split("## ")[0]
    listed = {}
    for line in section.strip().splitlines()[1:]:
        name, shape = line.split(" ", 1)
        listed[name] = tuple(int(size) for size in re.findall(r"\d+", shape))
    built = authors_shapes(window=8, hidden=512, layers=4, bidirectional=bidirectional)
    assert built == listed
    trainable = sum(torch.Size(shape).numel() for name, shape in built.items() if not re.search(r"running|num_b", name))
    assert trainable == parameters


@pytest.mark.slow
@pytest.mark.parametrize("bidirectional", [False, True])
def test_converted_checkpoint_predicts_what_the_authors_model_predicts(tmp_path, bidirectional):
    window, hidden, layers = 8, 32, 2
    state = authors_state_dict(seed=1, window=window, hidden=hidden, layers=layers, bidirectional=bidirectional)
    torch.save(state, tmp_path / "model.pth")
    folder = convert_reference_checkpoint(tmp_path / "model.pth", tmp_path / "converted")

    model = AutoModel.from_pretrained(folder).eval()
    config = model.config
    assert (config.context_window, config.lstm_hidden_size, config.lstm_num_layers) == (window, hidden, layers)
    assert config.lstm_bidirectional == bidirectional
    assert (config.audio_encoder, config.audio_input_norm) == ("window_channels", "standardize")
    log_mels, text = _dialogue(length=10, seed=2)  # windows with 7 … 0 empty slots, and two full ones
    with torch.no_grad():
        ours = model(input_features=log_mels[None], text_embeds=text[None])
        text_windows = torch.stack(
            [torch.cat([torch.zeros(window - 1, TEXT), text])[t : t + window] for t in range(10)]
        )
        emotion, arousal, valence = authors_forward(
            state, _standardised_windows(log_mels, window), text_windows, hidden
        )
    assert (ours.emotion_probs[0] - emotion).abs().max() < 1e-4
    assert (ours.arousal[0] - arousal).abs().max() < 1e-4
    assert (ours.valence[0] - valence).abs().max() < 1e-4
    assert emotion.std(0).max() > 1e-3  # the utterances' predictions differ: a real comparison, not a constant


def test_conversion_infers_the_architecture_and_writes_a_loadable_folder(tmp_path, capsys):
    state = authors_state_dict(seed=3, window=4, hidden=16, layers=3, bidirectional=True)
    torch.save(state, tmp_path / "model.pth")
    assert cli_main(["convert-reference", str(tmp_path / "model.pth"), str(tmp_path / "out")]) == 0
    assert "converted" in capsys.readouterr().out
    model = AutoModel.from_pretrained(tmp_path / "out")
    assert (model.config.context_window, model.config.lstm_num_layers, model.config.lstm_bidirectional) == (4, 3, True)
    assert (tmp_path / "out" / "model.safetensors").is_file()
    assert (tmp_path / "out" / "preprocessor_config.json").is_file()
    assert torch.equal(model.dialogue_encoder.lstm.weight_hh_l2_reverse, state["lstm.weight_hh_l2_reverse"])
    assert torch.equal(model.valence_head.layers[6].weight, state["mlp_valence.2.weight"])


def _saved(tmp_path: Path, content) -> Path:
    path = tmp_path / "model.pth"
    torch.save(content, path)
    return path


def _small_state() -> dict[str, torch.Tensor]:
    return authors_state_dict(seed=4, window=8, hidden=16, layers=1, bidirectional=False)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda s: s.pop("mlp_emotion.4.bias"), r"missing: mlp_emotion\.4\.bias"),
        (lambda s: s.__setitem__("mlp_extra.0.weight", torch.zeros(2)), r"unexpected: mlp_extra\.0\.weight"),
        (
            lambda s: s.__setitem__("mlp_av.1.fc.0.weight", torch.zeros(1024, 100)),
            r"wrong shape: mlp_av\.1\.fc\.0\.weight \(1024, 100\) \(expected \(1024, 2048\)\)",
        ),
        (lambda s: s.pop("lstm.weight_hh_l0"), r"no 'lstm\.weight_hh_l0'"),
    ],
)
def test_a_checkpoint_that_does_not_match_gets_an_error_naming_the_tensors(tmp_path, damage, message):
    state = _small_state()
    damage(state)
    with pytest.raises(ValueError, match=message):
        convert_reference_checkpoint(_saved(tmp_path, state), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_pickled_model_object_is_refused_without_running_it(tmp_path):
    path = _saved(tmp_path, nn.Linear(2, 2))  # torch.save(model) instead of torch.save(model.state_dict())
    with pytest.raises(ValueError, match=r"not a plain state dict.*state_dict\(\)"):
        convert_reference_checkpoint(path, tmp_path / "out")


@pytest.mark.parametrize(
    "content, message", [([torch.zeros(2)], "holds a list"), ({"epoch": 3, "lstm.x": torch.zeros(1)}, "epoch")]
)
def test_anything_but_a_mapping_of_tensors_is_refused(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        convert_reference_checkpoint(_saved(tmp_path, content), tmp_path / "out")


def test_the_command_line_reports_a_bad_checkpoint_and_exits_2(tmp_path, capsys):
    assert cli_main(["convert-reference", str(tmp_path / "absent.pth"), str(tmp_path / "out")]) == 2
    assert "absent.pth does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_attaching_kobert_gives_a_complete_folder_for_the_pipeline(tmp_path, kobert_sentencepiece):
    """--text_encoder: KoBERT's weights become the text encoder and its tokenizer the processor's (a local folder in
    skt/kobert-base-v1's layout here: spiece.model and a 768-wide BERT)."""
    kobert = tmp_path / "kobert"
    kobert.mkdir()
    (kobert / "spiece.model").write_bytes(kobert_sentencepiece)
    torch.manual_seed(0)
    bert_config = BertConfig(
        vocab_size=400, hidden_size=TEXT, num_hidden_layers=1, num_attention_heads=12, intermediate_size=64
    )
    BertModel(bert_config, add_pooling_layer=False).save_pretrained(kobert)
    state = authors_state_dict(seed=5, window=8, hidden=16, layers=1, bidirectional=False)
    folder = convert_reference_checkpoint(_saved(tmp_path, state), tmp_path / "out", text_encoder=str(kobert))

    pipe = load_mate_pipeline(folder)
    assert type(pipe.processor.tokenizer).__name__ == "KoBertTokenizer"
    reloaded = BertModel.from_pretrained(kobert)
    assert torch.equal(
        pipe.model.text_encoder.bert.embeddings.word_embeddings.weight, reloaded.embeddings.word_embeddings.weight
    )
    tone = np.sin(np.arange(16000) / 16000 * 2 * np.pi * 220).astype(np.float32)
    result = pipe({"dialogue": [{"array": tone, "sampling_rate": 16000, "text": "정말 기뻐요"}] * 2})
    assert len(result) == 2 and 1.0 <= result[1]["arousal"] <= 5.0


def test_a_text_encoder_of_another_width_is_refused(tmp_path, kobert_sentencepiece):
    kobert = tmp_path / "kobert"
    kobert.mkdir()
    (kobert / "spiece.model").write_bytes(kobert_sentencepiece)
    small = BertConfig(vocab_size=400, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    BertModel(small, add_pooling_layer=False).save_pretrained(kobert)
    with pytest.raises(ValueError, match="gives 32-d sentence embeddings; the checkpoint's LSTM reads 768-d"):
        convert_reference_checkpoint(_saved(tmp_path, _small_state()), tmp_path / "out", text_encoder=str(kobert))
