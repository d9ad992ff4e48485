"""CLIP-style contrastive ECG <-> ECG-report model for similar-case retrieval.

Two encoders project into one L2-normalised embedding space (Radford et al. 2021, "Learning
Transferable Visual Models From Natural Language Supervision", symmetric InfoNCE with a learned
temperature):

* ECG encoder: 1-D CNN over the 12-lead waveform at 100 Hz x 10 s (the tensor the server's
  preprocessing produces, `ecg_waveform` from export-features.ts), mean + max pooling, projection.
* Report encoder: token embedding + width-3 convolution + masked pooling over the ECG interpretation report
  (tokenised by models/training/export-clip-features.ts with the project's own tokenizer),
  projection.

Each is exported as its own ONNX graph (opset 17, dynamic batch axis) so the server can embed an
ECG without a report and a text query without an ECG:
models/ecg-report-clip/1/{ecg-encoder.onnx, text-encoder.onnx, vocabulary.json, golden-*.npy,
embedding-manifest.json, card.md}.

    npx tsx models/training/export-features.ts --out models/training/.data/cohort   # if not done
    npx tsx models/training/export-clip-features.ts
    /usr/bin/python3 models/training/train_clip.py

Held-out metrics (test split, never seen in training or model selection) are written into the
manifest and the card: recall@1/5/10 ECG->report and report->ECG, and the share of an ECG's top-5
ECG neighbours whose latent conditions (the generator's ground truth) equal the query's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

import numpy as np
import onnx
import torch
from torch import nn
import torch.nn.functional as F

from manifest_io import OPSET, sha256_file

HERE = os.path.dirname(os.path.abspath(__file__))
EMBED = 64
MAX_TOKENS = 64
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


class EcgProjector(nn.Module):
    """1-D CNN over 12 leads, mean+max pooling, linear projection, L2 normalisation."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        # The first layer strides by 4 (100 Hz -> 25 Hz): rhythm and rate survive, and training
        # stays within minutes on 2 CPU cores.
        for c_in, c_out, k, s in ((12, 32, 9, 4), (32, 64, 7, 2), (64, 64, 7, 2), (64, 64, 7, 2)):
            layers += [nn.Conv1d(c_in, c_out, k, stride=s, padding=k // 2), nn.BatchNorm1d(c_out), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, EMBED))

    def forward(self, ecg_waveform):
        h = self.conv(ecg_waveform)
        z = self.proj(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))
        return F.normalize(z, dim=1)


class TextProjector(nn.Module):
    """Token embeddings, a width-3 convolution (keeps "rate 130" and "NEG_x" pairs together),
    masked mean + max pooling over non-pad tokens, projection, L2 normalisation."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 64, padding_idx=0)
        self.conv = nn.Conv1d(64, 96, 3, padding=1)
        self.proj = nn.Sequential(nn.Linear(192, 128), nn.ReLU(), nn.Linear(128, EMBED))

    def forward(self, report_tokens):
        mask = (report_tokens != 0).to(torch.float32).unsqueeze(1)  # [B, 1, L]
        h = torch.relu(self.conv(self.embed(report_tokens).transpose(1, 2))) * mask
        mean = h.sum(dim=2) / mask.sum(dim=2).clamp(min=1.0)
        peak = (h - (1.0 - mask) * 1e4).amax(dim=2)
        return F.normalize(self.proj(torch.cat([mean, peak], dim=1)), dim=1)


def load_split(cohort: str, clip: str, split: str) -> dict[str, np.ndarray]:
    has = np.load(os.path.join(clip, split, "has_report.npy")) > 0.5
    ecg = np.load(os.path.join(cohort, split, "ecg_waveform.npy")).astype(np.float32)
    present = np.abs(ecg).reshape(len(ecg), -1).max(axis=1) > 0
    keep = has & present
    return {
        "ecg": ecg[keep],
        "tokens": np.load(os.path.join(clip, split, "report_tokens.npy")).astype(np.int64)[keep],
        "labels": np.load(os.path.join(cohort, split, "labels.npy")).astype(np.float32)[keep],
    }


def embed_all(model: nn.Module, data: np.ndarray, batch: int = 256) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(data), batch):
            out.append(model(torch.from_numpy(data[i:i + batch])).numpy())
    return np.concatenate(out).astype(np.float32)


def recall_at(sim: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """sim[i, j]: query i vs candidate j; the right answer for query i is candidate i."""
    ranks = (sim > sim[np.arange(len(sim)), np.arange(len(sim))][:, None]).sum(axis=1)
    return {f"recallAt{k}": float((ranks < k).mean()) for k in ks}


def retrieval_metrics(ecg_z: np.ndarray, txt_z: np.ndarray, labels: np.ndarray) -> dict:
    sim = ecg_z @ txt_z.T
    ecg_sim = ecg_z @ ecg_z.T
    np.fill_diagonal(ecg_sim, -np.inf)  # a patient is never their own neighbour
    top5 = np.argsort(-ecg_sim, axis=1)[:, :5]
    same = (labels[top5] == labels[:, None, :]).all(axis=2)
    # Chance level: how often two random distinct patients share the full condition vector.
    _, counts = np.unique(labels, axis=0, return_counts=True)
    n = len(labels)
    chance = float(((counts * (counts - 1)).sum()) / (n * (n - 1)))
    return {
        "ecgToReport": recall_at(sim),
        "reportToEcg": recall_at(sim.T),
        "top5ConditionMatch": float(same.mean()),
        "top5ConditionMatchChance": chance,
        "queries": int(n),
    }


def train(args) -> None:
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(2)
    vocab = json.load(open(os.path.join(args.clip, "vocabulary.json"), encoding="utf-8"))["tokens"]
    tr = load_split(args.data, args.clip, "train")
    va = load_split(args.data, args.clip, "validation")
    te = load_split(args.data, args.clip, "test")
    ecg_model, txt_model = EcgProjector(), TextProjector(len(vocab))
    log_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
    params = list(ecg_model.parameters()) + list(txt_model.parameters()) + [log_scale]
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-4)
    n = len(tr["ecg"])
    best, best_state = -1.0, None
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
            opt.step()
            total += float(loss) * len(idx)
        m = retrieval_metrics(embed_all(ecg_model, va["ecg"]), embed_all(txt_model, va["tokens"]), va["labels"])
        score = m["ecgToReport"]["recallAt5"] + m["reportToEcg"]["recallAt5"]
        print(f"epoch {epoch + 1}: loss {total / n:.3f}, validation R@5 e->r {m['ecgToReport']['recallAt5']:.3f} "
              f"r->e {m['reportToEcg']['recallAt5']:.3f}, top-5 condition match {m['top5ConditionMatch']:.3f}", flush=True)
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


def export(model: nn.Module, name_in: str, sample: np.ndarray, name_out: str, path: str) -> None:
    torch.onnx.export(model, (torch.from_numpy(sample),), path, input_names=[name_in], output_names=[name_out],
                      dynamic_axes={name_in: {0: "batch"}, name_out: {0: "batch"}}, opset_version=OPSET,
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def write_version(args, ecg_model, txt_model, te, metrics) -> None:
    folder = os.path.join(HERE, "..", "ecg-report-clip", "1")
    os.makedirs(folder, exist_ok=True)
    golden_ecg, golden_tok = te["ecg"][:4], te["tokens"][:4]
    export(ecg_model, "ecg_waveform", golden_ecg, "ecg_embedding", os.path.join(folder, "ecg-encoder.onnx"))
    export(txt_model, "report_tokens", golden_tok, "text_embedding", os.path.join(folder, "text-encoder.onnx"))
    with torch.no_grad():
        np.save(os.path.join(folder, "golden-input-ecg_waveform.npy"), golden_ecg)
        np.save(os.path.join(folder, "golden-output-ecg_embedding.npy"), ecg_model(torch.from_numpy(golden_ecg)).numpy())
        np.save(os.path.join(folder, "golden-input-report_tokens.npy"), golden_tok)
        np.save(os.path.join(folder, "golden-output-text_embedding.npy"), txt_model(torch.from_numpy(golden_tok)).numpy())
    shutil.copyfile(os.path.join(args.clip, "vocabulary.json"), os.path.join(folder, "vocabulary.json"))
    dataset = json.load(open(os.path.join(args.data, "dataset.json"), encoding="utf-8"))
    emb = {"dtype": "float32", "shape": [-1, EMBED], "role": "embedding"}
    manifest = {
        "schemaVersion": 1,
        "name": "ecg-report-clip",
        "version": "1",
        "title": "ECG <-> ECG-report contrastive embedding (similar-case retrieval)",
        "description": "CLIP-style dual encoder: a 1-D CNN over the 12-lead ECG and a convolutional text encoder over the ECG "
                       "interpretation report, projected into one L2-normalised 64-dimensional space. Trained on "
                       "synthetic data; for demonstrating and testing similar-case retrieval, not for clinical use.",
        "trainingData": {"synthetic": True, "description": dataset["description"] +
                         "; pairs are each patient's ECG and its ECG interpretation report (DiagnosticReport category EC)"},
        "embedding": {"dimension": EMBED, "normalisation": "l2", "metric": "cosine"},
        "encoders": {
            "ecg": {"file": "ecg-encoder.onnx",
                    "inputs": [{"name": "ecg_waveform", "dtype": "float32", "shape": [-1, 12, 1000], "role": "ecg-waveform"}],
                    "outputs": [{"name": "ecg_embedding", **emb}]},
            "text": {"file": "text-encoder.onnx",
                     "inputs": [{"name": "report_tokens", "dtype": "int64", "shape": [-1, MAX_TOKENS], "role": "text-tokens"}],
                     "outputs": [{"name": "text_embedding", **emb}]},
        },
        "preprocessing": {
            "ecg": {"lookbackHours": 720, "sampleRateHz": 100, "durationSeconds": 10, "leads": LEADS,
                    "representation": "waveform"},
            "text": {"lookbackHours": 720, "categories": ["EC"], "tokenizer": "vocabulary.json",
                     "maxTokens": MAX_TOKENS, "lowercase": True, "negationPrefix": "NEG_"},
        },
        "metrics": {"retrieval": {"split": "test", "source": "train_clip.py (PyTorch)", **metrics}},
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
Similar-case retrieval in fhir-fusion (`src/similar-cases/`): given a patient's ECG, find past
patients whose ECG looked alike and show what their ECG reports said; given free text
("atrial fibrillation with rapid ventricular response"), find ECGs that match it.

## Architecture
- ECG encoder (`ecg-encoder.onnx`): 4-layer strided 1-D CNN over 12 leads x 1000 samples
  (100 Hz, 10 s, mV), mean + max pooling, 2-layer projection to {manifest['embedding']['dimension']} dimensions, L2-normalised.
- Report encoder (`text-encoder.onnx`): token embedding, width-3 convolution, masked mean + max pooling over at most
  {MAX_TOKENS} tokens of the ECG report (`vocabulary.json`), projection, L2-normalised.
- Trained with the symmetric InfoNCE loss and a learned temperature (CLIP); the checkpoint with the
  best validation recall@5 is kept.

## Training data
{manifest['trainingData']['description']}.

## Retrieval performance (held-out test split, {m['queries']} patients with an ECG and an ECG report)

| direction | recall@1 | recall@5 | recall@10 |
| --- | --- | --- | --- |
{rows}

Top-5 ECG neighbours (the query patient excluded) whose latent conditions (acute heart failure,
pneumonia, atrial fibrillation; the generator's ground truth) all equal the query's:
**{m['top5ConditionMatch']:.3f}** (chance, two random patients: {m['top5ConditionMatchChance']:.3f}).

Recall is over all test patients at once: the right report must rank first among {m['queries']}
candidates, many of which say nearly the same thing (reports are templated), so recall@1 is
bounded well below 1 by near-duplicate reports.

## Limitations
Synthetic ECGs and templated reports; no claim about real recordings. Retrieval quality on
real data is unknown.
"""
    with open(os.path.join(folder, "card.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(HERE, ".data", "cohort"))
    parser.add_argument("--clip", default=os.path.join(HERE, ".data", "clip"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=20261123)
    train(parser.parse_args())
