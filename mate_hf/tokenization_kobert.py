"""KoBERT's tokenizer: SentencePiece segmentation with BERT's special-token layout.

KoBERT (SKT) is a BERT-base whose vocabulary (8,002 entries) is a SentencePiece model. SKT published it with an
XLNet-style tokenizer, but the model expects BERT inputs: `[CLS] A [SEP]` (pair: `[CLS] A [SEP] B [SEP]`), segment
ids 0 then 1, right padding with `[PAD]`. transformers 5's `XLNetTokenizer` gives none of this (special tokens at the
end, left padding, and an NFKD normaliser that decomposes Hangul syllables), so this class does it explicitly.

This file is copied flat into saved model folders as remote code: it imports only the standard library,
transformers and (lazily) sentencepiece.
"""

import os

from transformers import PreTrainedTokenizer

VOCAB_FILES_NAMES = {"sentencepiece_model_file": "spiece.model", "vocab_file": "vocab.txt"}
SPIECE_UNDERLINE = "▁"
MISSING_SENTENCEPIECE = (
    "KoBERT's tokenizer needs the sentencepiece package: pip install sentencepiece (or mate-hf[kobert])"
)
# Options of SKT's XLNet-era tokenizer_config.json, none of which applies: SentencePiece's own normaliser (NFKC,
# whitespace collapsing) already does what remove_space/keep_accents asked for, XLNet's NFKD accent stripping would
# decompose Hangul syllables, KoBERT's vocabulary is cased, and BERT's absolute positions need right padding.
IGNORED_XLNET_OPTIONS = ("do_lower_case", "remove_space", "keep_accents", "sp_model_kwargs", "padding_side")


class KoBertTokenizer(PreTrainedTokenizer):
    r"""
    Construct KoBERT's tokenizer: text is segmented by a SentencePiece model and laid out as BERT expects.

    Token ids come from `vocab_file` when given (monologg/kobert's layout: one token per line, the line number is
    the id), otherwise from the SentencePiece model's own piece ids (skt/kobert-base-v1's layout).

    Args:
        sentencepiece_model_file (`str`):
            Path to the SentencePiece model (`spiece.model`, or monologg's `tokenizer_78b3253a26.model`).
        vocab_file (`str`, *optional*):
            Path to a one-token-per-line vocabulary. Defaults to the SentencePiece model's ids.
        unk_token (`str`, *optional*, defaults to `"[UNK]"`):
            The token of pieces that are not in the vocabulary.
        sep_token (`str`, *optional*, defaults to `"[SEP]"`):
            The token that ends each sequence.
        pad_token (`str`, *optional*, defaults to `"[PAD]"`):
            The token used for padding (on the right).
        cls_token (`str`, *optional*, defaults to `"[CLS]"`):
            The token that starts the input.
        mask_token (`str`, *optional*, defaults to `"[MASK]"`):
            The token masked language modelling predicts.
        kwargs (`dict[str, Any]`, *optional*):
            Passed to [`PreTrainedTokenizer`]. The XLNet-era options of SKT's `tokenizer_config.json`
            (`do_lower_case`, `remove_space`, `keep_accents`, `sp_model_kwargs`, `padding_side`) are accepted
            and ignored: padding is always on the right, as BERT was trained.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side = "right"

    def __init__(
        self,
        sentencepiece_model_file: str,
        vocab_file: str | None = None,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        **kwargs,
    ):
        sentencepiece = _import_sentencepiece()
        self.sp_model = sentencepiece.SentencePieceProcessor(model_file=sentencepiece_model_file)
        self.vocab = _read_vocab(vocab_file) if vocab_file else _sentencepiece_vocab(self.sp_model)
        self.ids_to_tokens = {index: token for token, index in self.vocab.items()}
        for name in IGNORED_XLNET_OPTIONS:
            kwargs.pop(name, None)
        super().__init__(
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            special_tokens_pattern="cls_sep",
            token_type_ids_pattern="bert_style",
            token_type_ids_include_special_tokens=True,
            **kwargs,
        )

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return {**self.vocab, **self.added_tokens_encoder}

    def _tokenize(self, text: str) -> list[str]:
        # SentencePiece applies the model's own normalisation (NFKC, whitespace) before segmenting.
        return self.sp_model.encode(text, out_type=str)

    def _convert_token_to_id(self, token: str) -> int:
        return self.vocab.get(token, self.vocab[str(self.unk_token)])

    def _convert_id_to_token(self, index: int) -> str:
        return self.ids_to_tokens.get(index, str(self.unk_token))

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Join pieces into text (`▁` marks a space); special tokens stand apart as words.

        Args:
            tokens (`list[str]`): SentencePiece pieces and special tokens.

        Returns:
            `str`: the text.
        """
        special = set(self.all_special_tokens)
        words, pieces = [], []
        for token in tokens:
            if token in special:
                words += [_join_pieces(pieces), token]
                pieces = []
            else:
                pieces.append(token)
        words.append(_join_pieces(pieces))
        return " ".join(word for word in words if word)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, str]:
        """Write `spiece.model` and `vocab.txt`, whichever layout was loaded, so every saved folder has one layout.

        Args:
            save_directory (`str`): the folder to write into.
            filename_prefix (`str`, *optional*): prepended (with a dash) to both file names.

        Returns:
            `tuple[str, str]`: the paths of the SentencePiece model and of the vocabulary.
        """
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        model_path = os.path.join(save_directory, prefix + VOCAB_FILES_NAMES["sentencepiece_model_file"])
        vocab_path = os.path.join(save_directory, prefix + VOCAB_FILES_NAMES["vocab_file"])
        # From the loaded model, not the source file: that may be monologg's name, or gone (a temporary folder).
        with open(model_path, "wb") as writer:
            writer.write(self.sp_model.serialized_model_proto())
        with open(vocab_path, "w", encoding="utf-8") as writer:
            writer.writelines(f"{token}\n" for token, _ in sorted(self.vocab.items(), key=lambda item: item[1]))
        return model_path, vocab_path


def _import_sentencepiece():
    try:
        import sentencepiece
    except ImportError as error:
        raise ImportError(MISSING_SENTENCEPIECE) from error
    return sentencepiece


def _read_vocab(vocab_file: str) -> dict[str, int]:
    with open(vocab_file, encoding="utf-8") as reader:
        return {line.rstrip("\n"): index for index, line in enumerate(reader)}


def _sentencepiece_vocab(sp_model) -> dict[str, int]:
    return {sp_model.id_to_piece(index): index for index in range(sp_model.get_piece_size())}


def _join_pieces(pieces: list[str]) -> str:
    return "".join(pieces).replace(SPIECE_UNDERLINE, " ").strip()


__all__ = ["KoBertTokenizer"]
