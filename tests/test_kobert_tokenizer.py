"""KoBERT's SentencePiece tokenizer (the authors' text encoder), the text-tokenizer loader, and KR-BERT's casing.

The Hub is unreachable here, so the two published KoBERT layouts are rebuilt from a SentencePiece model trained on
the demo corpus' transcripts with KoBERT's special tokens ([UNK]=0, [PAD]=1, [CLS]=2, [SEP]=3, [MASK]=4).
"""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sentencepiece
import torch
from transformers import AutoProcessor, AutoTokenizer, BertConfig, BertModel, BertTokenizer, pipeline

from mate_hf import (
    TASK,
    KoBertTokenizer,
    MateFeatureExtractor,
    MateModel,
    MateProcessor,
    build_char_tokenizer,
    load_mate_pipeline,
    load_text_tokenizer,
    save_mate_folder,
)

KOBERT_SPECIALS = {"[UNK]": 0, "[PAD]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
# What SKT's tokenizer_config.json holds: written for its XLNetTokenizer subclass.
SKT_TOKENIZER_CONFIG = {
    "tokenizer_class": "XLNetTokenizer",
    "do_lower_case": False,
    "remove_space": True,
    "keep_accents": False,
    "bos_token": "[CLS]",
    "eos_token": "[SEP]",
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
SKT_SPECIAL_TOKENS_MAP = {key: value for key, value in SKT_TOKENIZER_CONFIG.items() if key.endswith("_token")}
OUT_OF_VOCABULARY = "☃"


@pytest.fixture(scope="session")
def sp_model(kobert_sentencepiece):
    return sentencepiece.SentencePieceProcessor(model_proto=kobert_sentencepiece)


@pytest.fixture(scope="session")
def skt_folder(kobert_sentencepiece, sp_model, tiny_config, tmp_path_factory):
    """skt/kobert-base-v1's layout: spiece.model, an XLNet-era tokenizer config, and a (tiny) BERT beside them."""
    folder = tmp_path_factory.mktemp("skt_kobert")
    (folder / "spiece.model").write_bytes(kobert_sentencepiece)
    (folder / "tokenizer_config.json").write_text(json.dumps(SKT_TOKENIZER_CONFIG))
    (folder / "special_tokens_map.json").write_text(json.dumps(SKT_SPECIAL_TOKENS_MAP))
    torch.manual_seed(0)
    bert_config = tiny_config(vocab_size=sp_model.get_piece_size()).text_config
    BertModel(bert_config, add_pooling_layer=False).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def monologg_folder(kobert_sentencepiece, sp_model, tmp_path_factory):
    """monologg/kobert's layout: the SentencePiece model only segments, vocab.txt (special tokens first, then the
    pieces in reverse order, so every other id differs from the model's) gives the ids."""
    folder = tmp_path_factory.mktemp("monologg_kobert")
    (folder / "tokenizer_78b3253a26.model").write_bytes(kobert_sentencepiece)
    pieces = [sp_model.id_to_piece(index) for index in range(sp_model.get_piece_size())]
    lines = list(KOBERT_SPECIALS) + [piece for piece in reversed(pieces) if piece not in KOBERT_SPECIALS]
    (folder / "vocab.txt").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def kobert(skt_folder) -> KoBertTokenizer:
    return load_text_tokenizer(str(skt_folder))


def _sentences(demo_corpus_texts: list[str]) -> list[str]:
    return demo_corpus_texts[:3] + [max(demo_corpus_texts, key=len)]


# --- ids and layout ------------------------------------------------------------------------------------------------


def test_skt_layout_gives_bert_layout_and_sentencepiece_ids(kobert, sp_model, demo_corpus_texts):
    assert type(kobert) is KoBertTokenizer
    assert {token: kobert.convert_tokens_to_ids(token) for token in KOBERT_SPECIALS} == KOBERT_SPECIALS
    assert len(kobert) == sp_model.get_piece_size()  # the special tokens are the model's pieces, none appended
    texts = _sentences(demo_corpus_texts)
    batch = kobert(texts, padding=True, return_tensors="pt")
    lengths = batch["attention_mask"].sum(1)
    for row, (text, length) in enumerate(zip(texts, lengths.tolist())):
        ids = batch["input_ids"][row].tolist()
        assert ids[:length] == [2, *sp_model.encode(text), 3]
        assert ids[length:] == [1] * (len(ids) - length)  # right padding with [PAD]
        assert kobert.tokenize(text) == sp_model.encode(text, out_type=str)
    assert batch["attention_mask"].tolist() == [
        [int(i < n) for i in range(batch["input_ids"].shape[1])] for n in lengths
    ]
    assert batch["token_type_ids"].eq(0).all()
    assert kobert.padding_side == "right" and kobert.model_max_length == 512


def test_pair_has_bert_segments(kobert, sp_model):
    first, second = "문 좀 닫아 줄래?", "역은 저쪽이에요"
    encoded = kobert(first, second)
    a, b = sp_model.encode(first), sp_model.encode(second)
    assert encoded["input_ids"] == [2, *a, 3, *b, 3]
    assert encoded["token_type_ids"] == [0] * (len(a) + 2) + [1] * (len(b) + 1)


def test_korean_round_trips_through_decode(kobert, demo_corpus_texts):
    for text in demo_corpus_texts:
        ids = kobert(text)["input_ids"]
        assert kobert.decode(ids, skip_special_tokens=True) == " ".join(text.split())
    assert kobert.decode(kobert("역은 저쪽이에요")["input_ids"]) == "[CLS] 역은 저쪽이에요 [SEP]"


def test_out_of_vocabulary_character_is_unk(kobert, monologg_folder):
    for tokenizer in (kobert, load_text_tokenizer(str(monologg_folder))):
        ids = tokenizer(f"{OUT_OF_VOCABULARY} 어떡해")["input_ids"]
        assert ids[0] == 2 and tokenizer.unk_token_id == 0 and 0 in ids


def test_monologg_layout_takes_ids_from_vocab_txt(monologg_folder, sp_model, demo_corpus_texts):
    tokenizer = load_text_tokenizer(str(monologg_folder))
    vocab = (monologg_folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert type(tokenizer) is KoBertTokenizer and len(tokenizer) == len(vocab)
    for text in _sentences(demo_corpus_texts):
        pieces = sp_model.encode(text, out_type=str)
        ids = tokenizer(text)["input_ids"]
        assert ids == [2, *(vocab.index(piece) for piece in pieces), 3]
        assert ids[1:-1] != sp_model.encode(text)  # the SentencePiece model's own ids would be wrong here
        assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_saved_folder_has_one_layout_and_reloads(monologg_folder, tmp_path, demo_corpus_texts):
    tokenizer = load_text_tokenizer(str(monologg_folder))
    tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "spiece.model").exists() and (tmp_path / "vocab.txt").exists()
    assert (tmp_path / "tokenization_kobert.py").exists()
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["auto_map"]["AutoTokenizer"][0] == "tokenization_kobert.KoBertTokenizer"
    texts = _sentences(demo_corpus_texts)
    expected = tokenizer(texts)["input_ids"]
    for reloaded in (AutoTokenizer.from_pretrained(tmp_path), load_text_tokenizer(str(tmp_path))):
        assert type(reloaded) is KoBertTokenizer  # the package's class, without trust_remote_code
        assert reloaded(texts)["input_ids"] == expected  # vocab.txt's ids, not spiece.model's


def test_tokenizer_file_works_as_flat_remote_code():
    import mate_hf.tokenization_kobert as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {f"{'.' * node.level}{node.module}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots <= set(sys.stdlib_module_names) | {"transformers", "sentencepiece"}, imported


def test_missing_sentencepiece_says_how_to_install_it(monkeypatch, skt_folder):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # `import sentencepiece` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install sentencepiece \(or mate-hf\[kobert\]\)"):
        KoBertTokenizer(str(skt_folder / "spiece.model"))


# --- KR-BERT (WordPiece) and other tokenizers ------------------------------------------------------------------


@pytest.mark.parametrize("files", ["tokenizer.json", "vocab.txt only"])
def test_bert_wordpiece_tokenizer_keeps_hangul_syllables(files, demo_corpus_texts, tmp_path):
    """KR-BERT's files leave BERT's default lower-casing on, which decomposes Hangul into jamo ([UNK] here)."""
    char_tokenizer = build_char_tokenizer(demo_corpus_texts)
    char_tokenizer.save_pretrained(tmp_path)
    BertConfig(vocab_size=char_tokenizer.vocab_size).save_pretrained(tmp_path)
    config_file = tmp_path / "tokenizer_config.json"
    if files == "vocab.txt only":  # the files of snunlp/KR-BERT-char16424
        vocab = sorted(char_tokenizer.get_vocab(), key=char_tokenizer.get_vocab().get)
        (tmp_path / "vocab.txt").write_text("".join(f"{token}\n" for token in vocab), encoding="utf-8")
        (tmp_path / "tokenizer.json").unlink()
        config_file.unlink()
    else:
        config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "do_lower_case": True}))
    text = "우와 믿을 수가 없어"
    assert AutoTokenizer.from_pretrained(tmp_path).tokenize(text).count("[UNK]") == 4  # the failure this avoids
    tokenizer = load_text_tokenizer(str(tmp_path))
    assert isinstance(tokenizer, BertTokenizer) and tokenizer.do_lower_case is False
    assert tokenizer.tokenize(text) == ["우", "##와", "믿", "##을", "수", "##가", "없", "##어"]
    assert tokenizer(text)["input_ids"] == char_tokenizer(text)["input_ids"]


def test_sentencepiece_model_without_bert_tokens_is_not_taken_for_kobert(
    demo_corpus_texts, train_sentencepiece, tmp_path
):
    char_tokenizer = build_char_tokenizer(demo_corpus_texts)
    char_tokenizer.save_pretrained(tmp_path)
    (tmp_path / "spiece.model").write_bytes(train_sentencepiece(demo_corpus_texts))  # <unk>, <s>, </s>: not BERT's
    tokenizer = load_text_tokenizer(str(tmp_path))
    assert isinstance(tokenizer, BertTokenizer)
    assert tokenizer("역은 저쪽이에요")["input_ids"] == char_tokenizer("역은 저쪽이에요")["input_ids"]


# --- the model, processor, pipeline and remote code ------------------------------------------------------------


def test_text_encoder_starts_from_a_local_kobert_checkpoint(
    skt_folder, kobert, demo_corpus_texts, tiny_config, make_dialogue, sampling_rate
):
    model = MateModel.from_pretrained_text_encoder(str(skt_folder), config=tiny_config()).eval()
    assert model.config.text_config.vocab_size == len(kobert)
    pretrained = BertModel.from_pretrained(skt_folder, add_pooling_layer=False)
    embeddings = model.text_encoder.bert.embeddings.word_embeddings.weight
    assert torch.equal(embeddings, pretrained.embeddings.word_embeddings.weight)
    processor = MateProcessor(MateFeatureExtractor(**model.config.audio_feature_kwargs()), kobert)
    audio, _ = make_dialogue(3, seed=0)
    inputs = processor(audio=audio, text=demo_corpus_texts[:3], sampling_rate=sampling_rate)
    with torch.no_grad():
        assert model(**inputs).logits.shape == (1, 3, 7)


@pytest.fixture(scope="module")
def kobert_mate(kobert, tiny_config, tmp_path_factory):
    """A tiny MATE whose text encoder's vocabulary is the KoBERT tokenizer's, saved as a complete folder."""
    config = tiny_config(vocab_size=len(kobert), initializer_range=0.5)  # untrained outputs far from uniform
    torch.manual_seed(0)
    model = MateModel(config).eval()
    processor = MateProcessor(MateFeatureExtractor(**config.audio_feature_kwargs()), kobert)
    return model, processor, save_mate_folder(tmp_path_factory.mktemp("kobert_mate"), model, processor)


def _scores(result: dict) -> list[float]:
    return [entry["score"] for entry in sorted(result["emotions"], key=lambda entry: entry["label"])]


def test_processor_lays_out_dialogues_with_kobert_ids(kobert_mate, sp_model, demo_corpus_texts):
    _, processor, _ = kobert_mate
    dialogues = [demo_corpus_texts[:3], demo_corpus_texts[3:4]]
    encoded = processor(text=dialogues)
    assert encoded["input_ids"].shape[:2] == (2, 3)
    for d, dialogue in enumerate(dialogues):
        for u, text in enumerate(dialogue):
            expected = [2, *sp_model.encode(text), 3]
            row = encoded["input_ids"][d, u].tolist()
            assert row[: len(expected)] == expected and set(row[len(expected) :]) <= {1}
            assert encoded["attention_mask"][d, u].sum() == len(expected)
    assert encoded["token_type_ids"].eq(0).all() and encoded["utterance_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_saved_folder_loads_with_the_package(kobert_mate, demo_corpus_texts, make_dialogue, sampling_rate):
    model, processor, folder = kobert_mate
    loaded = AutoProcessor.from_pretrained(folder)
    assert type(loaded) is MateProcessor and type(loaded.tokenizer) is KoBertTokenizer
    assert loaded.tokenizer.padding_side == "right"
    audio, _ = make_dialogue(1, seed=3)
    expected = pipeline(TASK, model=model, processor=processor)(
        audio[0], sampling_rate=sampling_rate, transcript=demo_corpus_texts[0]
    )
    result = load_mate_pipeline(folder)(audio[0], sampling_rate=sampling_rate, transcript=demo_corpus_texts[0])
    assert np.allclose(_scores(result), _scores(expected), atol=1e-6)


def test_saved_folder_runs_as_remote_code_without_the_package(
    kobert_mate, demo_corpus_texts, make_dialogue, sampling_rate, tmp_path
):
    model, processor, folder = kobert_mate
    audio, _ = make_dialogue(1, seed=4)
    texts = demo_corpus_texts[:3]
    np.save(tmp_path / "audio.npy", audio[0])
    np.save(tmp_path / "input_ids.npy", processor(text=texts)["input_ids"].numpy())
    expected = pipeline(TASK, model=model, processor=processor)(
        audio[0], sampling_rate=sampling_rate, transcript=texts[0]
    )
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.modules["mate_hf"] = None  # the package is installed (editable) here: block it, as for a user without it
        import numpy as np
        from transformers import AutoProcessor, AutoTokenizer, pipeline
        folder = {str(folder)!r}
        processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        for part in (processor, processor.tokenizer, tokenizer):
            assert type(part).__module__.startswith("transformers_modules"), type(part).__module__
        assert type(tokenizer).__name__ == "KoBertTokenizer"
        ids = processor(text={texts!r})["input_ids"].numpy()
        assert np.array_equal(ids, np.load({str(tmp_path / "input_ids.npy")!r})), ids
        assert tokenizer({texts!r})["input_ids"] == processor.tokenizer({texts!r})["input_ids"]
        pipe = pipeline(model=folder, trust_remote_code=True)
        result = pipe(np.load({str(tmp_path / "audio.npy")!r}), sampling_rate={sampling_rate}, transcript={texts[0]!r})
        print(json.dumps(result))
        """
    )
    # -I: no current folder or PYTHON* variables on the path; the editable install is blocked inside the script.
    run = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    remote = json.loads(run.stdout.strip().splitlines()[-1])
    assert np.allclose(_scores(remote), _scores(expected), atol=1e-6)
    assert remote["arousal"] == pytest.approx(expected["arousal"], abs=1e-6)
