"""Demo: build a small MATE, save it with its processor, reload it through the Auto classes and
predict the emotions of a short Korean dialogue (untrained weights: the point is the plumbing).

Audio comes from espeak-ng when it is installed, else from the bundled demo corpus.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import torch
from transformers import AutoModel, AutoProcessor

from mate_hf import MateConfig, MateFeatureExtractor, MateModel, MateProcessor, build_char_tokenizer
from mate_hf.audio_io import load_audio

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "outputs" / "demo_model"
DIALOGUE = ["오늘 정말 기분이 좋아요", "왜 이렇게 늦었어 화가 나", "미안해 너무 슬프다"]


def spoken_dialogue() -> tuple[list, list[int], list[str]]:
    """Waveforms, rates and transcripts of a short dialogue."""
    if shutil.which("espeak-ng"):
        audio, rates = [], []
        with tempfile.TemporaryDirectory() as folder:
            for index, sentence in enumerate(DIALOGUE):
                path = Path(folder) / f"{index}.wav"
                subprocess.run(["espeak-ng", "-v", "ko", "-w", str(path), sentence], check=True)
                samples, rate = load_audio(path)
                audio.append(samples)
                rates.append(rate)
        return audio, rates, DIALOGUE
    wavs = sorted((ROOT / "demo_corpus" / "KEMDy19" / "wav").rglob("*.wav"))[: len(DIALOGUE)]
    decoded = [load_audio(path) for path in wavs]
    texts = [path.with_suffix(".txt").read_text(encoding="utf-8", errors="replace").strip() for path in wavs]
    return [samples for samples, _ in decoded], [rate for _, rate in decoded], texts


def main() -> None:
    audio, rates, texts = spoken_dialogue()
    tokenizer = build_char_tokenizer(texts + DIALOGUE)
    config = MateConfig(
        text_config=dict(
            vocab_size=tokenizer.vocab_size,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
        ),
        lstm_hidden_size=64,
        lstm_num_layers=2,
    )
    torch.manual_seed(0)
    fresh = MateModel(config)
    fresh.save_pretrained(OUTPUT)
    MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), tokenizer).save_pretrained(OUTPUT)
    print(f"saved a MATE ({fresh.num_parameters():,} parameters) to {OUTPUT}")

    model = AutoModel.from_pretrained(OUTPUT).eval()
    processor = AutoProcessor.from_pretrained(OUTPUT)
    # The feature extractor takes one rate per call: bring every file to the model's rate first.
    extractor = processor.feature_extractor
    waveforms = [extractor.prepare_waveform(a, r, name=f"utterance {i}") for i, (a, r) in enumerate(zip(audio, rates))]
    inputs = processor(audio=waveforms, text=texts, sampling_rate=extractor.sampling_rate)
    with torch.inference_mode():
        outputs = model(**inputs)
    for text, result in zip(texts, processor.post_process(outputs, inputs["utterance_mask"], top_k=3)[0]):
        emotions = ", ".join(f"{entry['label']} {entry['score']:.2f}" for entry in result["emotions"])
        print(f"{text!r}: {emotions} | arousal {result['arousal']:.2f} valence {result['valence']:.2f}")


if __name__ == "__main__":
    main()
