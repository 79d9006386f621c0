"""A tiny random encoder checkpoint, built offline in a second, for tests and the demo.

It is a real `save_pretrained` directory (config.json, model.safetensors, tokenizer files), so the
Auto classes load it exactly as they load a hub model: a tokenizer trained on the given texts with the
`tokenizers` library (WordPiece, BERT specials) and a randomly initialised 2-layer ALBERT or BERT.
Its scores mean nothing; it exists to exercise the whole pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
Arch = Literal["albert", "bert"]


def build_tiny_checkpoint(
    out_dir: str | Path,
    texts: Iterable[str],
    arch: Arch = "albert",
    *,
    vocab_size: int = 400,
    hidden_size: int = 32,
    num_layers: int = 2,
    max_position_embeddings: int = 512,
    seed: int = 0,
) -> Path:
    """Train a WordPiece tokenizer on `texts`, save it with a random tiny model into `out_dir`; return it."""
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(list(texts), vocab_size, max_position_embeddings)
    config = _tiny_config(arch, len(tokenizer), hidden_size, num_layers, max_position_embeddings, tokenizer)
    torch.manual_seed(seed)  # the random weights are part of the checkpoint: make them reproducible
    model = _masked_lm_class(arch)(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def _train_tokenizer(texts: list[str], vocab_size: int, model_max_length: int):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    # Cased, accents kept: Spanish accents carry meaning (e.g. "él" vs "el"), as in BETO-cased.
    backend.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS))
    )
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    backend.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
        # Like BERT's and ALBERT's tokenizers, so pair tasks get segment ids.
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def _tiny_config(arch: Arch, vocab_size: int, hidden: int, layers: int, positions: int, tokenizer):
    from transformers import AlbertConfig, BertConfig

    common = {
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": 2 * hidden,
        "max_position_embeddings": positions,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if arch == "albert":
        return AlbertConfig(embedding_size=hidden // 2, **common)
    if arch == "bert":
        return BertConfig(**common)
    from glues_bench.errors import UnknownName

    raise UnknownName("tiny architecture", arch, ("albert", "bert"))


def _masked_lm_class(arch: Arch):
    from transformers import AlbertForMaskedLM, BertForMaskedLM

    return {"albert": AlbertForMaskedLM, "bert": BertForMaskedLM}[arch]
