"""Dialogue rows → batches: chunking with context, cached features, and equality with one-by-one runs."""

import pytest
import torch

from mate_hf.audio_io import load_audio
from mate_hf.data.collator import MateDataCollator, chunk_dialogues, featurize_audio


@pytest.fixture(scope="module")
def dialogues(demo_dialogues):
    return demo_dialogues.select(range(6))


@pytest.fixture(scope="module")
def setup(dialogues, build_tiny_mate):
    return build_tiny_mate([text for dialogue in dialogues["text"] for text in dialogue])


def _one_by_one(model, processor, row) -> torch.Tensor:
    """The straightforward path: decode each file, process the whole dialogue alone, run it."""
    extractor = processor.feature_extractor
    waveforms = [extractor.prepare_waveform(*load_audio(path), name=path) for path in row["audio_path"]]
    inputs = processor(audio=waveforms, text=list(row["text"]), sampling_rate=extractor.sampling_rate)
    with torch.no_grad():
        return model(**inputs).logits[0]


def test_collated_batch_predictions_equal_dialogues_run_one_by_one(setup, dialogues):
    model, processor = setup
    batch = MateDataCollator(processor)([dialogues[i] for i in range(len(dialogues))])
    with torch.no_grad():
        batched = model(**{k: v for k, v in batch.items() if k in _MODEL_INPUTS}).logits
    for index in range(len(dialogues)):
        alone = _one_by_one(model, processor, dialogues[index])
        assert (batched[index, : len(alone)] - alone).abs().max() < 1e-5


def test_batch_carries_targets_and_masks(setup, dialogues):
    _, processor = setup
    rows = [dialogues[0], dialogues[1]]
    batch = MateDataCollator(processor)(rows)
    lengths = [len(row["segment_id"]) for row in rows]
    assert batch["utterance_mask"].sum(1).tolist() == lengths
    assert torch.equal(batch["target_mask"], batch["utterance_mask"])
    assert torch.allclose(batch["labels"][0, : lengths[0]], torch.tensor(rows[0]["emotion_votes"]))
    assert torch.equal(batch["majority_labels"][1, : lengths[1]], torch.tensor(rows[1]["emotion_majority"]).float())
    assert torch.allclose(batch["arousal_labels"][0, : lengths[0]], torch.tensor(rows[0]["arousal"]))


def test_chunks_with_context_reproduce_whole_dialogue_predictions(setup, dialogues):
    model, processor = setup
    context = model.config.context_window - 1
    chunks = chunk_dialogues(dialogues, max_targets=3, context=context)
    # every utterance is a target in exactly one chunk
    targets = [seg for chunk in chunks for seg in chunk["segment_id"][chunk["num_context"] :]]
    assert targets == [seg for dialogue in dialogues["segment_id"] for seg in dialogue]
    assert {chunk["num_context"] for chunk in chunks} == {0, 3, 6}  # dialogues of 8-9 turns, chunks of 3
    batch = MateDataCollator(processor)([chunks[i] for i in range(len(chunks))])
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k in _MODEL_INPUTS}).logits
    chunk_predictions = {}
    for index, chunk in enumerate(chunks):
        start = chunk["num_context"]
        assert batch["target_mask"][index, :start].sum() == 0
        for offset, segment in enumerate(chunk["segment_id"][start:]):
            chunk_predictions[segment] = logits[index, start + offset]
    for index in range(len(dialogues)):
        alone = _one_by_one(model, processor, dialogues[index])
        for position, segment in enumerate(dialogues[index]["segment_id"]):
            assert (chunk_predictions[segment] - alone[position]).abs().max() < 1e-5


def test_cached_features_equal_decoding_in_the_collator(setup, dialogues):
    _, processor = setup
    subset = dialogues.select(range(2))
    cache = featurize_audio(subset, processor)
    assert len(cache) == sum(len(paths) for paths in subset["audio_path"])  # one row per clip
    fresh = MateDataCollator(processor)([subset[0], subset[1]])
    from_cache = MateDataCollator(processor, audio_cache=cache)([subset[0], subset[1]])
    assert torch.allclose(fresh["input_features"], from_cache["input_features"], atol=1e-4)


def test_text_only_batches_never_open_the_audio(setup, dialogues, tmp_path):
    _, processor = setup
    row = dict(dialogues[0])
    row["audio_path"] = [str(tmp_path / "gone.wav")] * len(row["audio_path"])
    batch = MateDataCollator(processor, audio=False)([row])
    assert "input_features" not in batch
    assert torch.equal(batch["input_ids"], MateDataCollator(processor)([dialogues[0]])["input_ids"])


def test_missing_audio_file_is_named(setup, dialogues, tmp_path):
    _, processor = setup
    row = dict(dialogues[0])
    row["audio_path"] = [str(tmp_path / "gone.wav")] + list(row["audio_path"][1:])
    with pytest.raises(ValueError, match="gone.wav does not exist"):
        MateDataCollator(processor)([row])


_MODEL_INPUTS = {"input_features", "input_ids", "attention_mask", "token_type_ids", "text_embeds", "utterance_mask"}


def test_random_crops_depend_only_on_seed_epoch_and_segment(dialogues, build_tiny_mate):
    _, processor = build_tiny_mate([text for dialogue in dialogues["text"] for text in dialogue], max_duration=0.5)
    rows = [dialogues[0], dialogues[1]]  # clips of 1–2 s: every one is cut to a 0.5 s window
    collate = MateDataCollator(processor, crop="random", seed=3)
    torch.manual_seed(0)
    crops = collate(rows)["input_features"]
    torch.manual_seed(1)  # the global generator plays no part, nor does the batch an utterance comes in
    alone = collate([rows[1]])["input_features"][0]
    length = len(rows[1]["segment_id"])
    assert torch.equal(crops[1, :length], alone[:length])
    collate.epoch = 1
    assert not torch.equal(crops, collate(rows)["input_features"])
    assert not torch.equal(crops, MateDataCollator(processor, crop="random", seed=4)(rows)["input_features"])
    centre = MateDataCollator(processor, crop="center")(rows)["input_features"]
    assert not torch.equal(crops, centre)


def test_cached_whole_clips_are_cut_to_random_windows_of_frames(dialogues, build_tiny_mate):
    """With cached log-mels, a clip longer than the window is cut in frames: a contiguous window of the whole clip's
    log-mel, drawn from (seed, epoch, segment id), whose inner frames are the log-mel of the waveform cut at that
    frame's first sample (only the frames at the window's edges see the neighbouring samples)."""
    texts = [text for dialogue in dialogues["text"] for text in dialogue]
    _, processor = build_tiny_mate(texts, max_duration=0.5)  # the demo's 1–2 s clips are all longer
    extractor = processor.feature_extractor
    cache = featurize_audio(dialogues.select(range(2)), processor)
    rows = [dialogues[0], dialogues[1]]
    collate = MateDataCollator(processor, crop="random", seed=3, audio_cache=cache)
    crops = collate(rows)["input_features"]
    assert torch.equal(collate([rows[1]])["input_features"][0], crops[1, : len(rows[1]["segment_id"])])
    collate.epoch = 1
    assert not torch.equal(crops, collate(rows)["input_features"])
    starts = set()
    for position, path in enumerate(rows[0]["audio_path"]):
        whole = torch.from_numpy(cache[path])
        window = crops[0, position]
        offsets = [
            s
            for s in range(whole.shape[1] - window.shape[1] + 1)
            if torch.equal(whole[:, s : s + window.shape[1]], window)
        ]
        assert len(offsets) == 1, path  # a contiguous window of the whole clip
        starts.add(offsets[0])
        samples, rate = load_audio(path)
        waveform = extractor.mono_at_model_rate(samples, rate)
        first_sample = offsets[0] * extractor.hop_length
        cut = torch.from_numpy(waveform[first_sample : first_sample + extractor.num_samples].copy())
        direct = extractor.log_mel(torch.nn.functional.pad(cut, (0, extractor.num_samples - len(cut)))[None])[0]
        inner = slice(2, window.shape[1] - 2)  # n_fft / hop = 2 frames at each edge reach past the cut
        assert (direct[:, inner] - window[:, inner]).abs().max() < 1e-3
    assert len(starts) > 1  # random offsets, not one fixed place
