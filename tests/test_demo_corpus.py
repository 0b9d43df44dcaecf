"""The generated demo corpus (demo_corpus/) loads exactly as its manifest says it must."""

import json
from pathlib import Path

import pytest
import soundfile as sf

from mate_hf.data import EMOTION_LABELS, load_kemdy19, load_kemdy20

from .kemdy_files import utterances

DEMO = Path(__file__).resolve().parents[1] / "demo_corpus"
MANIFEST = DEMO / "manifest.json"
pytestmark = pytest.mark.skipif(not MANIFEST.is_file(), reason="demo_corpus/manifest.json not generated")
ROLES = ("speaker", "listener")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(MANIFEST.read_text("utf-8"))


@pytest.fixture(scope="module")
def loaded() -> dict:
    """role -> (dataset, report) of KEMDy19."""
    return {role: load_kemdy19(DEMO / "KEMDy19", role=role) for role in ROLES}


def label_set(multi_hot: list[int]) -> set[str]:
    return {name for name, flag in zip(EMOTION_LABELS, multi_hot) if flag}


@pytest.mark.parametrize("role", ROLES)
def test_counts_and_dialogues_match_the_manifest(manifest, loaded, role):
    expected = manifest["kemdy19"]["expected"][role]
    dataset, report = loaded[role]
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (
        expected["rows_read"],
        expected["rows_used"],
        expected["rows_skipped_total"],
    )
    skipped = {reason: count for reason, count in report.counts().items() if reason in expected["rows_skipped"]}
    assert skipped == {reason: count for reason, count in expected["rows_skipped"].items() if count}
    assert dataset["dialogue_id"] == list(expected["dialogues"])
    assert dict(zip(dataset["dialogue_id"], dataset["segment_id"])) == expected["dialogues"]


def planted_entries(manifest: dict, role: str) -> set[tuple]:
    """(reason, file, line, segment id) that the report of `role` must hold, from the manifest's quirks."""
    expected = set()
    for quirk in manifest["kemdy19"]["quirks"]:
        kind, sid = quirk["type"], quirk["segment_id"]
        if kind in ("missing_wav", "missing_txt"):
            expected |= {
                (kind, row["file"], row["line"], sid) for row in quirk["annotation_rows"] if row["role"] == role
            }
        elif kind == "cp949_transcript":  # the transcript is read once per role
            expected.add((kind, quirk["file"], None, sid))
        elif quirk["role"] == role:
            expected.add((kind, quirk["file"], quirk["line"], sid))
        if kind == "mismatched_segment_id":
            # The reader's documented consequence: the meant id has no row of the F file's own
            # role (speaker), so that role notes its audio instead of losing it silently.
            meant = quirk["true_segment_id"]
            file_gender = quirk["file"].split("_")[-2]
            if role == ("speaker" if meant.rsplit("_", 1)[1][0] == file_gender else "listener"):
                expected.add(("unlabelled_audio", manifest["kemdy19"]["segments"][meant]["wav"], None, meant))
    return expected


@pytest.mark.parametrize("role", ROLES)
def test_report_lists_every_planted_quirk_and_nothing_else(manifest, loaded, role):
    _, report = loaded[role]
    actual = [(entry.reason, entry.file, entry.line, entry.segment_id) for entry in report.entries]
    assert len(actual) == len(set(actual))
    assert set(actual) == planted_entries(manifest, role)


@pytest.mark.parametrize("role", ROLES)
def test_every_utterance_carries_the_manifest_labels_and_transcript(manifest, loaded, role):
    segments = manifest["kemdy19"]["segments"]
    got = utterances(loaded[role][0])
    usable = {
        sid for sid, seg in segments.items() if role in seg["labels"] and seg["wav_written"] and seg["txt_written"]
    }
    assert set(got) == usable
    for sid, utterance in got.items():
        segment, label = segments[sid], segments[sid]["labels"][role]
        assert utterance["emotion_votes"] == pytest.approx([count / 10 for count in label["votes"]])
        assert label_set(utterance["emotion_majority"]) == set(label["majority"])
        assert (utterance["valence"], utterance["arousal"]) == pytest.approx((label["valence"], label["arousal"]))
        assert (utterance["text"], utterance["raw_text"]) == (segment["transcript_clean"], segment["transcript_raw"])
        assert utterance["speaker_gender"] == segment["gender"]
        assert utterance["audio_path"] == str(DEMO / "KEMDy19" / segment["wav"])


def test_speaker_and_listener_targets_differ_where_the_intended_emotions_differ(manifest, loaded):
    segments = manifest["kemdy19"]["segments"]
    speaker, listener = (utterances(loaded[role][0]) for role in ROLES)
    differing = 0
    for sid in speaker.keys() & listener.keys():
        intended = segments[sid]["speaker_emotion"], segments[sid]["listener_emotion"]
        sets = label_set(speaker[sid]["emotion_majority"]), label_set(listener[sid]["emotion_majority"])
        assert intended[0] in sets[0] and intended[1] in sets[1]
        for name, utterance in zip(intended, (speaker[sid], listener[sid])):
            votes = utterance["emotion_votes"]
            assert votes[EMOTION_LABELS.index(name)] == max(votes)
        if intended[0] != intended[1]:
            assert sets[0] != sets[1], sid
            differing += 1
    assert differing >= 0.25 * len(speaker)


def test_strict_mode_stops_at_the_first_planted_anomaly():
    with pytest.raises(ValueError, match=r"Session01_M_res\.csv, line 25: missing_wav \[Sess01_impro01_M005\]"):
        load_kemdy19(DEMO / "KEMDy19", role="speaker", strict=True)


def test_audio_files_are_readable_at_the_manifest_sample_rates(manifest, loaded):
    segments = manifest["kemdy19"]["segments"]
    for sid, utterance in utterances(loaded["listener"][0]).items():
        assert sf.info(utterance["audio_path"]).samplerate == segments[sid]["sample_rate"]


def test_kemdy20_fixture_loads(manifest):
    expected = manifest["kemdy20"]["expected"]["speaker"]
    dataset, report = load_kemdy20(DEMO / "KEMDy20", strict=True)
    assert (report.rows_read, report.rows_used, report.rows_skipped) == (
        expected["rows_read"],
        expected["rows_used"],
        expected["rows_skipped_total"],
    )
    assert dict(zip(dataset["dialogue_id"], dataset["segment_id"])) == expected["dialogues"]
    planted = {(q["type"], q["file"], q["line"], q["segment_id"]) for q in manifest["kemdy20"]["quirks"]}
    assert {(e.reason, e.file, e.line, e.segment_id) for e in report.entries} == planted
    segments = manifest["kemdy20"]["segments"]
    for sid, utterance in utterances(dataset).items():
        label = segments[sid]["labels"]["speaker"]
        assert utterance["emotion_votes"] == pytest.approx([count / 10 for count in label["votes"]])
        assert label_set(utterance["emotion_majority"]) == set(label["majority"])
        assert utterance["speaker_gender"] == segments[sid]["gender"]
        assert utterance["text"] == segments[sid]["transcript_clean"]
