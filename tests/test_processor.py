"""MateProcessor and the offline character tokenizer."""

import numpy as np
import pytest
import torch

from mate_hf import build_char_tokenizer


def test_single_utterance_dialogue_and_batch_forms(processor, make_dialogue, sampling_rate):
    audio, text = make_dialogue(3, seed=0)
    one = processor(audio=audio[0], text=text[0], sampling_rate=sampling_rate)
    dialogue = processor(audio=audio, text=text, sampling_rate=sampling_rate)
    batch = processor(audio=[audio, audio[:1]], text=[text, text[:1]], sampling_rate=sampling_rate)
    assert one["input_features"].shape[:2] == one["input_ids"].shape[:2] == (1, 1)
    assert dialogue["utterance_mask"].tolist() == [[1, 1, 1]]
    assert batch["utterance_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["input_ids"].shape[:2] == (2, 3)
    assert batch["attention_mask"][1, 1:].sum() == 0
    assert torch.equal(batch["input_features"][0], dialogue["input_features"][0])


def test_text_only_and_audio_only_calls(processor, make_dialogue, sampling_rate):
    audio, text = make_dialogue(2, seed=1)
    text_only = processor(text=[text, text[:1]])
    assert "input_features" not in text_only and text_only["utterance_mask"].tolist() == [[1, 1], [1, 0]]
    audio_only = processor(audio=audio, sampling_rate=sampling_rate)
    assert "input_ids" not in audio_only and audio_only["input_features"].shape[:2] == (1, 2)


def test_audio_and_text_must_describe_the_same_dialogues(processor, make_dialogue, sampling_rate):
    audio, text = make_dialogue(3, seed=2)
    with pytest.raises(ValueError, match="disagree"):
        processor(audio=audio, text=text[:2], sampling_rate=sampling_rate)
    with pytest.raises(ValueError, match="needs audio, text or both"):
        processor()
    with pytest.raises(ValueError, match="text: dialogue 1"):
        processor(text=[["안녕"], [3]])


def test_transcripts_are_truncated_to_max_text_length(processor):
    processor.max_text_length = 10
    encoded = processor(text=["정말 기뻐요 " * 10])
    assert encoded["input_ids"].shape[-1] == 10


def test_post_process_ranks_emotions(processor, model, make_dialogue, sampling_rate):
    inputs = processor(
        audio=[make_dialogue(3, 0)[0], make_dialogue(1, 1)[0]],
        text=[make_dialogue(3, 0)[1], make_dialogue(1, 1)[1]],
        sampling_rate=sampling_rate,
    )
    with torch.no_grad():
        outputs = model(**inputs)
    results = processor.post_process(outputs, inputs["utterance_mask"])
    assert [len(dialogue) for dialogue in results] == [3, 1]
    first = results[0][0]
    scores = [entry["score"] for entry in first["emotions"]]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-5
    assert {entry["label"] for entry in first["emotions"]} == set(model.config.id2label.values())
    assert first["emotions"][0]["label"] == model.config.id2label[int(outputs.logits[0, 0].argmax())]
    assert 1 <= first["arousal"] <= 5 and first["arousal"] == pytest.approx(float(outputs.arousal[0, 0]))
    top2 = processor.post_process(outputs, inputs["utterance_mask"], top_k=2)
    assert len(top2[1][0]["emotions"]) == 2


def test_char_tokenizer_is_character_level_and_cased(korean_sentences, tmp_path):
    tokenizer = build_char_tokenizer(korean_sentences + ["ABC abc"])
    assert tokenizer.tokenize("기뻐요 화나") == ["기", "##뻐", "##요", "화", "##나"]
    assert tokenizer.tokenize("Ab") == ["A", "##b"]  # do_lower_case=False, like KR-BERT
    ids = tokenizer("기뻐 ☃")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert tokenizer.unk_token_id in ids
    tokenizer.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tmp_path)("기뻐 ☃")["input_ids"] == ids


def test_processor_accepts_integer_audio_and_lists(processor):
    audio = (np.sin(np.linspace(0, 300, 8000)) * 20000).astype(np.int16)
    as_floats = (audio / 32768).tolist()
    encoded = processor(audio=[audio, as_floats], text=["안녕", "좋아요"], sampling_rate=8000)
    assert torch.allclose(encoded["input_features"][0, 0], encoded["input_features"][0, 1], atol=1e-3)
    with pytest.raises(ValueError, match="int16, int32 or uint8 PCM"):
        processor(audio=audio.astype(np.int64), sampling_rate=8000)
