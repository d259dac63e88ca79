"""Trains a tiny joint intent + BIO tagging network in PyTorch and exports it for Teller.

Writes model.pt (TorchScript) and model.pt.json (the sidecar) as core/src/nlu/TORCHSCRIPT.md
describes. Usage: python3 export_model.py [OUT_DIR]. Needs torch (pip install torch). Not run
in CI (no Python torch there); tests/nlu/torchscript_model_test.cpp checks the same contract.
"""

import json
import re
import sys
from pathlib import Path
from typing import List, Tuple

import torch
from torch import Tensor, nn

# Examples: text with [span](type) annotations, intent.
EXAMPLES = [
    ("send 500 to [savings](account)", "transfer"),
    ("move money to [checking](account)", "transfer"),
    ("transfer to my [joint savings](account) please", "transfer"),
    ("what is in [savings](account)", "check_balance"),
    ("balance of [checking](account)", "check_balance"),
    ("show my balance", "check_balance"),
    ("block my card", "block_card"),
    ("my card was stolen", "block_card"),
    ("冻结我的银行卡", "block_card"),
    ("查一下[储蓄](account)余额", "check_balance"),
]

TOKEN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\u3040-\u30ff\uac00-\ud7af]|"
                   r"[^\W_\u4e00-\u9fff\u3400-\u4dbf\u3040-\u30ff\uac00-\ud7af]+"
                   r"(?:[.,](?=\d)\d+|'(?=[^\W\d_])[^\W\d_]+)*")


def tokens_with_spans(text: str) -> List[Tuple[str, int, int]]:
    """Teller's tokens (lowercased, digits as 0, one per CJK character) with char offsets.

    Approximates teller::nlu::Tokenizer::tokens() for plain ASCII and CJK text; check other
    text against it before relying on it.
    """
    out = []
    for m in TOKEN.finditer(text):
        token = re.sub(r"\d", "0", m.group(0).lower())
        out.append((token, m.start(), m.end()))
    return out


def parse_annotated(marked: str):
    text, spans, i = "", [], 0
    for m in re.finditer(r"\[([^\]]+)\]\(([^)]+)\)", marked):
        text += marked[i:m.start()]
        spans.append((len(text), len(text) + len(m.group(1)), m.group(2)))
        text += m.group(1)
        i = m.end()
    return text + marked[i:], spans


class JointNet(nn.Module):
    def __init__(self, vocab: int, intents: int, tags: int, dim: int = 32, hidden: int = 32):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.intent = nn.Linear(2 * hidden, intents)
        self.tag = nn.Linear(2 * hidden, tags)

    def forward(self, token_ids: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        x = self.embedding(token_ids)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.gru(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                  total_length=token_ids.size(1))
        mask = torch.arange(token_ids.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        pooled = out.masked_fill(~mask.unsqueeze(2), -1e4).max(dim=1).values
        return self.intent(pooled), self.tag(out)


def main():
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    torch.manual_seed(42)
    data = [(parse_annotated(m), intent) for m, intent in EXAMPLES]
    labels = sorted({intent for _, intent in data})
    types = sorted({t for (_, spans), _ in data for _, _, t in spans})
    tags = ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]
    vocabulary = ["<pad>", "<unk>"]
    rows = []
    for (text, spans), intent in data:
        toks = tokens_with_spans(text)
        ids, tag_ids = [], []
        for token, begin, end in toks:
            if token not in vocabulary:
                vocabulary.append(token)
            ids.append(vocabulary.index(token))
            tag = "O"
            for s_begin, s_end, t in spans:
                if begin < s_end and end > s_begin:
                    tag = ("B-" if begin <= s_begin else "I-") + t
            tag_ids.append(tags.index(tag))
        rows.append((ids, tag_ids, labels.index(intent)))

    net = JointNet(len(vocabulary), len(labels), len(tags))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.02)
    longest = max(len(ids) for ids, _, _ in rows)
    token_ids = torch.tensor([ids + [0] * (longest - len(ids)) for ids, _, _ in rows])
    lengths = torch.tensor([len(ids) for ids, _, _ in rows])
    tag_targets = torch.tensor([t + [-100] * (longest - len(t)) for _, t, _ in rows])
    intent_targets = torch.tensor([i for _, _, i in rows])
    for _ in range(200):
        optimizer.zero_grad()
        intents, tag_logits = net(token_ids, lengths)
        loss = nn.functional.cross_entropy(intents, intent_targets) + nn.functional.cross_entropy(
            tag_logits.reshape(-1, len(tags)), tag_targets.reshape(-1), ignore_index=-100)
        loss.backward()
        optimizer.step()

    net.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(net), str(out_dir / "model.pt"))
    sidecar = {"format": "teller-torchscript/1", "labels": labels, "tags": tags,
               "vocabulary": vocabulary, "pad_id": 0, "unk_id": 1, "max_tokens": 128}
    (out_dir / "model.pt.json").write_text(json.dumps(sidecar, ensure_ascii=False, indent=1))
    print(f"wrote {out_dir / 'model.pt'} and {out_dir / 'model.pt.json'}")


if __name__ == "__main__":
    main()
