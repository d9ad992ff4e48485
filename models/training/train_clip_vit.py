"""CLIP-style contrastive model with the ECG read as an image by a small Vision Transformer (issue 20).

The ECG retrieval paper encodes the *printed* 12-lead ECG with a Vision Transformer and aligns it
with the ECG report contrastively. This script does that on the project's own rendering of the ECG
(`src/preprocess/ecg/render-ecg-image.ts`: 3 x 4 leads of 2.5 s plus a lead II rhythm strip,
1 x 96 x 128, the `ecg_image` tensor of export-features.ts that `ecg-image-cnn@1` is trained on),
so it can be compared with `ecg-report-clip@1` (1-D CNN over the waveform, train_clip.py) on the
same patients, report encoder, loss, splits and seed:

* ECG encoder: ViT (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words"), trained from
  scratch: 24 x 8 patches (one printed row by 0.625 s; 4 x 16 = 64 tokens) linearly embedded, a learned [CLS] token and
  learned position embeddings, pre-norm transformer encoder layers, [CLS] + mean pooling,
  projection, L2 normalisation.
* Report encoder: train_clip.py's TextProjector over the same tokens and vocabulary.
* Loss: symmetric InfoNCE with a learned temperature (Radford et al. 2021), as train_clip.py;
  the checkpoint with the best validation recall@5 (both directions) is kept.

Writes models/ecg-report-clip/2/ (the same folder layout as version 1, the ECG encoder's input
being the rendered image, role `ecg-image`):

    npx tsx models/training/export-clip-features.ts [--cohort DIR --out DIR]
    /usr/bin/python3 models/training/train_clip_vit.py [--data DIR --clip DIR]
    npx tsx src/evaluation/evaluate-command.ts retrieval [--data DIR --clip DIR]   # every version, side by side

Small by design (about 0.14 M parameters in the ViT): 12 epochs took 12 minutes on one thread of
the shared, busy 2-core machine (about 1 minute an epoch).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from manifest_io import sha256_file
from train_clip import EMBED, LEADS, MAX_TOKENS, TextProjector, embed_all, export, retrieval_metrics

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGE = (96, 128)
# A patch is one printed row high (96 px / 4 rows) and 8 px (0.625 s) wide, so each token is one
# lead (or the rhythm strip) over a fixed slice of time: 4 x 16 = 64 tokens.
PATCH = (24, 8)
WIDTH = 64
DEPTH = 3
HEADS = 4


class Block(nn.Module):
    """Pre-norm transformer encoder block: x + MHSA(LN(x)), then x + MLP(LN(x)).

    Written out (not nn.TransformerEncoderLayer) so the ONNX graph is plain MatMul/Softmax and
    does not depend on PyTorch's fused inference fast path."""

    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.out = nn.Linear(WIDTH, WIDTH)
        self.mlp = nn.Sequential(nn.Linear(WIDTH, 2 * WIDTH), nn.GELU(), nn.Linear(2 * WIDTH, WIDTH))
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, HEADS, WIDTH // HEADS).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) * (WIDTH // HEADS) ** -0.5, dim=-1)
        x = x + self.drop(self.out((attn @ v).transpose(1, 2).reshape(b, t, WIDTH)))
        return x + self.drop(self.mlp(self.ln2(x)))


class EcgVit(nn.Module):
    """A small ViT over the rendered ECG [B, 1, 96, 128] -> L2-normalised embedding [B, EMBED]."""

    def __init__(self):
        super().__init__()
        tokens = (IMAGE[0] // PATCH[0]) * (IMAGE[1] // PATCH[1])
        # Patch embedding as a strided convolution: one linear map per non-overlapping patch.
        self.patch = nn.Conv2d(1, WIDTH, PATCH, stride=PATCH)
        self.cls = nn.Parameter(torch.zeros(1, 1, WIDTH))
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, WIDTH) * 0.02)
        self.blocks = nn.Sequential(*[Block() for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(WIDTH)
        self.proj = nn.Sequential(nn.Linear(2 * WIDTH, 128), nn.ReLU(), nn.Linear(128, EMBED))

    def forward(self, ecg_image):
        h = self.patch(ecg_image).flatten(2).transpose(1, 2)  # [B, tokens, WIDTH]
        h = torch.cat([self.cls.expand(h.shape[0], -1, -1), h], dim=1) + self.pos
        h = self.norm(self.blocks(h))
        z = self.proj(torch.cat([h[:, 0], h[:, 1:].mean(dim=1)], dim=1))
        return F.normalize(z, dim=1)


def load_split(cohort: str, clip: str, split: str) -> dict[str, np.ndarray]:
    """The pairs train_clip.py uses (an ECG and an ECG report), the ECG as its rendered image."""
    has = np.load(os.path.join(clip, split, "has_report.npy")) > 0.5
    wave = np.load(os.path.join(cohort, split, "ecg_waveform.npy"), mmap_mode="r")
    present = np.array([np.abs(w).max() > 0 for w in wave])
    keep = has & present
    return {
        "ecg": np.load(os.path.join(cohort, split, "ecg_image.npy")).astype(np.float32)[keep],
        "tokens": np.load(os.path.join(clip, split, "report_tokens.npy")).astype(np.int64)[keep],
        "labels": np.load(os.path.join(cohort, split, "labels.npy")).astype(np.float32)[keep],
    }


def train(args) -> None:
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    # One thread: the machine is shared, and the result must not depend on the thread count.
    torch.set_num_threads(args.threads)
    vocab = json.load(open(os.path.join(args.clip, "vocabulary.json"), encoding="utf-8"))["tokens"]
    tr = load_split(args.data, args.clip, "train")
    va = load_split(args.data, args.clip, "validation")
    te = load_split(args.data, args.clip, "test")
    ecg_model, txt_model = EcgVit(), TextProjector(len(vocab))
    print(f"ViT parameters: {sum(p.numel() for p in ecg_model.parameters())}", flush=True)
    log_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
    params = list(ecg_model.parameters()) + list(txt_model.parameters()) + [log_scale]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.05)
    n = len(tr["ecg"])
    steps = args.epochs * (n // args.batch)
    # Linear warm-up then cosine decay: transformers trained from scratch diverge without warm-up.
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / steps))))
    best, best_state = -1.0, None
    started = time.time()
    for epoch in range(args.epochs):
        ecg_model.train(), txt_model.train()
        order = np.random.permutation(n)
        total = 0.0
        for i in range(0, n - args.batch + 1, args.batch):
            idx = order[i:i + args.batch]
            e = ecg_model(torch.from_numpy(tr["ecg"][idx]))
            t = txt_model(torch.from_numpy(tr["tokens"][idx]))
            logits = log_scale.clamp(max=np.log(100)).exp() * e @ t.T
            target = torch.arange(len(idx))
            loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        m = retrieval_metrics(embed_all(ecg_model, va["ecg"]), embed_all(txt_model, va["tokens"]), va["labels"])
        score = m["ecgToReport"]["recallAt5"] + m["reportToEcg"]["recallAt5"]
        print(f"epoch {epoch + 1} ({time.time() - started:.0f} s): loss {total / n:.3f}, validation R@5 "
              f"e->r {m['ecgToReport']['recallAt5']:.3f} r->e {m['reportToEcg']['recallAt5']:.3f}, "
              f"top-5 condition match {m['top5ConditionMatch']:.3f}", flush=True)
        if score > best:
            best = score
            best_state = ({k: v.clone() for k, v in ecg_model.state_dict().items()},
                          {k: v.clone() for k, v in txt_model.state_dict().items()})
    ecg_model.load_state_dict(best_state[0])
    txt_model.load_state_dict(best_state[1])
    ecg_model.eval(), txt_model.eval()
    test_metrics = retrieval_metrics(embed_all(ecg_model, te["ecg"]), embed_all(txt_model, te["tokens"]), te["labels"])
    print("test:", json.dumps(test_metrics), flush=True)
    write_version(args, ecg_model, txt_model, te, test_metrics)


def write_version(args, ecg_model, txt_model, te, metrics) -> None:
    folder = os.path.join(args.models, "ecg-report-clip", "2")
    os.makedirs(folder, exist_ok=True)
    golden_ecg, golden_tok = te["ecg"][:4], te["tokens"][:4]
    export(ecg_model, "ecg_image", golden_ecg, "ecg_embedding", os.path.join(folder, "ecg-encoder.onnx"))
    export(txt_model, "report_tokens", golden_tok, "text_embedding", os.path.join(folder, "text-encoder.onnx"))
    with torch.no_grad():
        np.save(os.path.join(folder, "golden-input-ecg_image.npy"), golden_ecg)
        np.save(os.path.join(folder, "golden-output-ecg_embedding.npy"), ecg_model(torch.from_numpy(golden_ecg)).numpy())
        np.save(os.path.join(folder, "golden-input-report_tokens.npy"), golden_tok)
        np.save(os.path.join(folder, "golden-output-text_embedding.npy"), txt_model(torch.from_numpy(golden_tok)).numpy())
    shutil.copyfile(os.path.join(args.clip, "vocabulary.json"), os.path.join(folder, "vocabulary.json"))
    dataset = json.load(open(os.path.join(args.data, "dataset.json"), encoding="utf-8"))
    emb = {"dtype": "float32", "shape": [-1, EMBED], "role": "embedding"}
    manifest = {
        "schemaVersion": 1,
        "name": "ecg-report-clip",
        "version": "2",
        "title": "ECG image <-> ECG-report contrastive embedding, Vision Transformer (similar-case retrieval)",
        "description": "CLIP-style dual encoder: a small Vision Transformer over the rendered 12-lead ECG image and a "
                       "convolutional text encoder over the ECG interpretation report, projected into one L2-normalised "
                       f"{EMBED}-dimensional space. Trained from scratch on synthetic data; for demonstrating and testing "
                       "similar-case retrieval, not for clinical use.",
        "trainingData": {"synthetic": True, "description": dataset["description"] +
                         "; pairs are each patient's ECG, rendered as the 12-lead image, and its ECG interpretation "
                         "report (DiagnosticReport category EC)"},
        "embedding": {"dimension": EMBED, "normalisation": "l2", "metric": "cosine"},
        "encoders": {
            "ecg": {"file": "ecg-encoder.onnx",
                    "inputs": [{"name": "ecg_image", "dtype": "float32", "shape": [-1, 1, *IMAGE], "role": "ecg-image"}],
                    "outputs": [{"name": "ecg_embedding", **emb}]},
            "text": {"file": "text-encoder.onnx",
                     "inputs": [{"name": "report_tokens", "dtype": "int64", "shape": [-1, MAX_TOKENS], "role": "text-tokens"}],
                     "outputs": [{"name": "text_embedding", **emb}]},
        },
        "preprocessing": {
            "ecg": {"lookbackHours": 720, "sampleRateHz": 100, "durationSeconds": 10, "leads": LEADS,
                    "representation": "image", "imageSize": list(IMAGE)},
            "text": {"lookbackHours": 720, "categories": ["EC"], "tokenizer": "vocabulary.json",
                     "maxTokens": MAX_TOKENS, "lowercase": True, "negationPrefix": "NEG_"},
        },
        "metrics": {"retrieval": {"split": "test", "source": "train_clip_vit.py (PyTorch)", **metrics}},
    }
    write_card(folder, manifest)
    manifest["files"] = {n: sha256_file(os.path.join(folder, n)) for n in sorted(os.listdir(folder))
                         if n != "embedding-manifest.json"}
    with open(os.path.join(folder, "embedding-manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def write_card(folder: str, manifest: dict) -> None:
    m = manifest["metrics"]["retrieval"]
    rows = "\n".join(
        f"| {label} | {m[key]['recallAt1']:.3f} | {m[key]['recallAt5']:.3f} | {m[key]['recallAt10']:.3f} |"
        for label, key in (("ECG -> report", "ecgToReport"), ("report -> ECG", "reportToEcg")))
    text = f"""# {manifest['title']}

{manifest['description']}

**Not for clinical use.** Every training and evaluation patient is synthetic.

## Intended use
Similar-case retrieval in fhir-fusion (`src/similar-cases/`, `SIMILAR_CASES_MODEL=ecg-report-clip@2`):
given a patient's ECG, find past patients whose ECG looked alike and show what their ECG reports
said; given free text, find ECGs that match it. It reads the ECG as a printed 12-lead image, as
the ECG retrieval paper's Vision Transformer does; version 1 reads the waveform with a 1-D CNN.
Served only when `SIMILAR_CASES_MODEL` names it: the default is whichever version retrieves better
on the held-out split (README, "Similar past cases").

## Architecture
- ECG encoder (`ecg-encoder.onnx`): the ECG rendered by `src/preprocess/ecg/render-ecg-image.ts`
  (3 x 4 leads of 2.5 s plus a 10 s lead II rhythm strip, traces 1 on 0, {IMAGE[0]} x {IMAGE[1]} pixels)
  cut into {PATCH[0]} x {PATCH[1]} patches (one printed row by 0.625 s; {(IMAGE[0] // PATCH[0]) * (IMAGE[1] // PATCH[1])} tokens), linearly embedded to {WIDTH} dimensions, a
  learned [CLS] token and position embeddings, {DEPTH} pre-norm transformer encoder layers ({HEADS} heads,
  MLP {2 * WIDTH}), [CLS] + mean pooling, 2-layer projection to {manifest['embedding']['dimension']} dimensions, L2-normalised.
  Trained from scratch (no pre-trained weights).
- Report encoder (`text-encoder.onnx`): the architecture of version 1 (token embedding, width-3
  convolution, masked mean + max pooling over at most {MAX_TOKENS} tokens, projection, L2-normalised),
  trained jointly with the ViT.
- Trained with the symmetric InfoNCE loss and a learned temperature (CLIP), AdamW with warm-up and
  cosine decay; the checkpoint with the best validation recall@5 is kept
  (`models/training/train_clip_vit.py`).

## Training data
{manifest['trainingData']['description']}.

## Retrieval performance (held-out test split, {m['queries']} patients with an ECG and an ECG report)

| direction | recall@1 | recall@5 | recall@10 |
| --- | --- | --- | --- |
{rows}

Top-5 ECG neighbours (the query patient excluded) whose latent conditions all equal the query's:
**{m['top5ConditionMatch']:.3f}** (chance, two random patients: {m['top5ConditionMatchChance']:.3f}).

## Limitations
Synthetic ECGs and templated reports; no claim about real recordings or real ECG printouts
(paper grid, scanning, other layouts). A transformer trained from scratch on about 1,400 ECGs is
far below what the paper's pre-trained ViT sees. Retrieval quality on real data is unknown.
"""
    with open(os.path.join(folder, "card.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(HERE, ".data", "cohort"))
    parser.add_argument("--clip", default=os.path.join(HERE, ".data", "clip"))
    parser.add_argument("--models", default=os.path.join(HERE, ".."))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20261123)
    train(parser.parse_args())
