"""An offline stand-in for KR-BERT's tokenizer: a character-level BERT WordPiece vocabulary.

KR-BERT (`snunlp/KR-BERT-char16424`) tokenizes Korean by characters (16,424 entries, cased). Where
the Hub is unreachable, the same kind of vocabulary is built from the corpus' own transcripts,
so the processor and model run through the same BERT tokenizer code path.
"""

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertTokenizerFast

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_char_tokenizer(texts: Iterable[str], extra_characters: str = "") -> BertTokenizerFast:
    """A cased BERT tokenizer whose vocabulary is every character of `texts` (plus `extra_characters`),
    each as a word-initial piece and as a `##` continuation piece."""
    characters = sorted({char for text in texts for char in text if not char.isspace()} | set(extra_characters))
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for char in characters:
        for piece in (char, f"##{char}"):
            vocab.setdefault(piece, len(vocab))
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False, clean_text=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return BertTokenizerFast(tokenizer_object=backend, do_lower_case=False, model_max_length=512)
