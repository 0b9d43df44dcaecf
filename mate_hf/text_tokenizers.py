"""Loading the tokenizer of MATE's text encoder: KoBERT's SentencePiece layouts, or any BERT tokenizer."""

from pathlib import Path

from huggingface_hub import hf_hub_download, list_repo_files
from transformers import AutoTokenizer, BertTokenizer, PreTrainedTokenizerBase

from .tokenization_kobert import VOCAB_FILES_NAMES, KoBertTokenizer

# skt/kobert-base-v1 (and every folder KoBertTokenizer saves): ids are the SentencePiece model's own, or vocab.txt's.
SKT_SENTENCEPIECE_FILE = VOCAB_FILES_NAMES["sentencepiece_model_file"]
# monologg/kobert: this SentencePiece model only segments; the ids come from vocab.txt.
MONOLOGG_SENTENCEPIECE_FILE = "tokenizer_78b3253a26.model"
VOCAB_FILE = VOCAB_FILES_NAMES["vocab_file"]
# The special tokens of a BERT vocabulary: a SentencePiece model without them (ALBERT's, T5's) is not KoBERT's.
BERT_SPECIAL_TOKENS = ("[UNK]", "[PAD]", "[CLS]", "[SEP]")
# KoBERT is a BERT-base (512 positions); SKT's tokenizer_config.json does not say so, and without a limit
# `truncation=True` would not cut.
KOBERT_MAX_LENGTH = 512
# The keyword arguments of `from_pretrained` that hf_hub_download understands too.
DOWNLOAD_ARGUMENTS = ("revision", "token", "cache_dir", "local_files_only", "force_download")


def load_text_tokenizer(name_or_path: str, **hub_kwargs) -> PreTrainedTokenizerBase:
    """The tokenizer of a text encoder, from a local folder or a Hub id.

    - KoBERT, the authors' encoder, in either published layout: `spiece.model` (skt/kobert-base-v1) or
      `tokenizer_78b3253a26.model` + `vocab.txt` (monologg/kobert). Gives a [`KoBertTokenizer`] (BERT's
      `[CLS] A [SEP]` layout, right padding, at most 512 tokens unless `model_max_length` is passed);
      `AutoTokenizer` would give transformers' XLNet tokenizer instead.
    - Anything else goes to `AutoTokenizer.from_pretrained`. A BERT WordPiece tokenizer (e.g. KR-BERT,
      `snunlp/KR-BERT-char16424`) is loaded with `do_lower_case=False` whatever its files say: BERT's lower-casing
      also strips accents after an NFD decomposition, which splits every Hangul syllable into jamo that a Korean
      vocabulary does not hold, so nearly every word becomes `[UNK]`.

    A Hub id's files are listed with `huggingface_hub.list_repo_files`, so recognising its layout needs the Hub;
    offline, pass the local folder (e.g. the path `snapshot_download` returns).

    Args:
        name_or_path (`str`): a local folder or a Hub id.
        hub_kwargs: passed to `from_pretrained` (revision, token, cache_dir, local_files_only, ...).
    """
    files = _file_names(name_or_path, hub_kwargs)
    kobert_kwargs = {"model_max_length": KOBERT_MAX_LENGTH, **hub_kwargs}
    if SKT_SENTENCEPIECE_FILE in files:
        tokenizer = KoBertTokenizer.from_pretrained(name_or_path, **kobert_kwargs)
    elif MONOLOGG_SENTENCEPIECE_FILE in files and VOCAB_FILE in files:
        model_file = _local_file(name_or_path, MONOLOGG_SENTENCEPIECE_FILE, hub_kwargs)
        tokenizer = KoBertTokenizer.from_pretrained(name_or_path, sentencepiece_model_file=model_file, **kobert_kwargs)
    else:
        return _load_auto_tokenizer(name_or_path, hub_kwargs)
    if not all(token in tokenizer.vocab for token in BERT_SPECIAL_TOKENS):
        return _load_auto_tokenizer(name_or_path, hub_kwargs)
    return tokenizer


def _load_auto_tokenizer(name_or_path: str, hub_kwargs: dict) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, **hub_kwargs)
    if isinstance(tokenizer, BertTokenizer) and tokenizer.do_lower_case:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, **{**hub_kwargs, "do_lower_case": False})
    return tokenizer


def _file_names(name_or_path: str, hub_kwargs: dict) -> set[str]:
    if Path(name_or_path).is_dir():
        return {path.name for path in Path(name_or_path).iterdir()}
    return set(list_repo_files(name_or_path, revision=hub_kwargs.get("revision"), token=hub_kwargs.get("token")))


def _local_file(name_or_path: str, filename: str, hub_kwargs: dict) -> str:
    if Path(name_or_path).is_dir():
        return str(Path(name_or_path) / filename)
    download_kwargs = {name: hub_kwargs[name] for name in DOWNLOAD_ARGUMENTS if name in hub_kwargs}
    return hf_hub_download(name_or_path, filename, **download_kwargs)


__all__ = ["load_text_tokenizer"]
