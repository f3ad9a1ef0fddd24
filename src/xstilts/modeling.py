"""One shared encoder with a head per task (jiant's shape).

Only the encoder carries over between phases: an intermediate model is saved as a plain
encoder directory, and target training puts a freshly initialised head on top of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from xstilts.formats import FORMATS

HEADS_FILE = "heads.pt"
HEADS_SPEC = "heads.json"


class ClassificationHead(nn.Module):
    """RoBERTa's head on <s>: dropout, dense, tanh, dropout, projection."""

    def __init__(self, hidden: int, n_out: int, dropout: float):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, hidden_states):
        x = self.dropout(hidden_states[:, 0])
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out(x)


class TokenHead(nn.Module):
    def __init__(self, hidden: int, n_out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, hidden_states):
        return self.out(self.dropout(hidden_states))


class DualEncoderHead(nn.Module):
    """XTREME-R's retrieval tower (third_party/bert.py BertForRetrieval): the pooler on <s>
    (dense, tanh), L2-normalised; similarities scaled by a learned logit scale that starts at
    100. The pooler is freshly initialised like every target head here (XTREME-R starts from
    the checkpoint's pooler, which an intermediate encoder does not carry)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.logit_scale = nn.Parameter(torch.full((1,), 100.0))

    def forward(self, hidden_states):
        return nn.functional.normalize(torch.tanh(self.dense(hidden_states[:, 0])), p=2, dim=1)

    def in_batch_loss(self, queries, candidates):
        """Cross-entropy of each query against the batch's candidates; its own is the label."""
        logits = queries @ candidates.T * self.logit_scale
        labels = torch.arange(len(queries), device=logits.device)
        return nn.functional.cross_entropy(logits, labels), logits


# The heads a format's entry names (xstilts.formats.Format.head): (hidden, labels, dropout) -> head
HEADS = {
    "classification": lambda hidden, n_labels, dropout: ClassificationHead(hidden, n_labels, dropout),
    "choice": lambda hidden, n_labels, dropout: ClassificationHead(hidden, 1, dropout),  # a score per choice
    "token": lambda hidden, n_labels, dropout: TokenHead(hidden, n_labels, dropout),
    "span": lambda hidden, n_labels, dropout: TokenHead(hidden, 2, 0.0),  # start and end logits
    "dual_encoder": lambda hidden, n_labels, dropout: DualEncoderHead(hidden),
}


def head_kind(fmt: str) -> str:
    """The head a format trains (a key of HEADS)."""
    kind = FORMATS[fmt].head
    if kind is None:
        raise ValueError(f"format {fmt} has no trained head")
    return kind


def make_head(fmt: str, hidden: int, n_labels: int, dropout: float) -> nn.Module:
    return HEADS[head_kind(fmt)](hidden, n_labels, dropout)


class MultiTaskModel(nn.Module):
    def __init__(self, encoder, head_specs: dict[str, dict]):
        """head_specs: task -> {"format": ..., "labels": [...]}."""
        super().__init__()
        self.encoder = encoder
        self.head_specs = head_specs
        cfg = encoder.config
        dropout = getattr(cfg, "hidden_dropout_prob", 0.1)
        self.heads = nn.ModuleDict(
            {
                task: make_head(spec["format"], cfg.hidden_size, len(spec["labels"]), dropout)
                for task, spec in head_specs.items()
            }
        )

    def forward(self, task: str, batch: dict):
        """Returns (loss or None, logits) for one task's batch."""
        kind = head_kind(self.head_specs[task]["format"])
        if kind == "dual_encoder":
            return self._dual_encoder(task, batch)
        ids, mask = batch["input_ids"], batch["attention_mask"]
        if kind == "choice":
            n_choices = ids.shape[1]
            ids, mask = ids.flatten(0, 1), mask.flatten(0, 1)
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = self.heads[task](hidden)
        if kind == "choice":
            logits = logits.view(-1, n_choices)
        if kind == "span":
            start, end = logits.unbind(-1)
            logits = (start, end)
            if "start_positions" not in batch:
                return None, logits
            loss = (
                nn.functional.cross_entropy(start, batch["start_positions"])
                + nn.functional.cross_entropy(end, batch["end_positions"])
            ) / 2
            return loss, logits
        if "labels" not in batch:
            return None, logits
        loss = nn.functional.cross_entropy(
            logits.flatten(0, -2) if kind == "token" else logits,
            batch["labels"].flatten() if kind == "token" else batch["labels"],
            ignore_index=-100,
        )
        return loss, logits

    def _dual_encoder(self, task: str, batch: dict):
        """Training pairs -> (in-batch loss, query x candidate logits); rows to embed (queries
        or candidates, one tower for both) -> (None, unit vectors)."""
        head = self.heads[task]

        def embed(prefix):
            ids, mask = batch[f"{prefix}input_ids"], batch[f"{prefix}attention_mask"]
            return head(self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state)

        if "query_input_ids" not in batch:
            return None, embed("")
        return head.in_batch_loss(embed("query_"), embed("candidate_"))


def load_encoder(path_or_id: str, finetune: str = "full", lora: dict | None = None):
    from transformers import AutoModel

    # SDPA (fused attention kernels on a GPU): transformers' default, named so that it stays
    encoder = AutoModel.from_pretrained(path_or_id, add_pooling_layer=False, attn_implementation="sdpa")
    if finetune == "lora":
        from peft import LoraConfig, get_peft_model

        lora = lora or {}
        encoder = get_peft_model(
            encoder,
            LoraConfig(
                r=lora.get("r", 8),
                lora_alpha=lora.get("alpha", 16),
                lora_dropout=lora.get("dropout", 0.1),
                target_modules=["query", "value"],
            ),
        )
    return encoder


def plain_encoder(model: MultiTaskModel):
    """The encoder without adapters: LoRA weights are merged in so the next phase sees a plain model."""
    encoder = model.encoder
    return encoder.merge_and_unload() if hasattr(encoder, "merge_and_unload") else encoder


def save(model: MultiTaskModel, tokenizer, out: Path, with_heads: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plain_encoder(model).save_pretrained(out)
    tokenizer.save_pretrained(out)
    if with_heads:
        torch.save(model.heads.state_dict(), out / HEADS_FILE)
        (out / HEADS_SPEC).write_text(json.dumps(model.head_specs, indent=1, sort_keys=True))


def pad_id(encoder, source: str) -> int:
    """The id a batch is padded with: the model's own (XLM-R counts its position ids from it),
    else its tokenizer's. Reading the config spares loading the tokenizer (XLM-R's: 17 MB)."""
    value = getattr(encoder.config, "pad_token_id", None)
    if value is None:
        from transformers import AutoTokenizer

        value = AutoTokenizer.from_pretrained(source).pad_token_id
    return value


def load_trained(path: Path) -> MultiTaskModel:
    specs = json.loads((Path(path) / HEADS_SPEC).read_text())
    model = MultiTaskModel(load_encoder(str(path)), specs)
    model.heads.load_state_dict(torch.load(Path(path) / HEADS_FILE, weights_only=True))
    return model
