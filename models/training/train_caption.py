"""Description drafting (issue 20): chest radiograph -> findings/impression text.

Architecture, after the CNN + attention-LSTM image/report paper the project follows ("Integrating
Medical Imaging and Clinical Reports Using Multimodal Deep Learning", clinical description
generation) and Show, Attend and Tell (Xu et al. 2015):

* image encoder: a small CNN over the 64x64 model radiograph (the tensor the server's preprocessing
  produces, `image` from export-features.ts) -> an 8x8 grid of 64-d spatial features; an
  image-level head predicts the six findings of `radiograph-findings.ts` from their mean (trained
  with an auxiliary loss against the findings the target text asserts), and the decoder's initial
  LSTM state comes from the mean features and those finding probabilities, so the decoder is told
  what the encoder sees instead of falling back to the most common (normal) report;
* decoder: word embedding + LSTM, then global ("general") attention of each hidden state over the
  64 spatial features (Luong et al. 2015); logits from the hidden state and the attended context.
  Attention after the LSTM (no input feeding) lets training run the LSTM over whole sequences in one
  call, which keeps training within minutes on 2 shared CPU cores.

No report context is used: the drafter describes the image only (the contract's `contextTokens`
are accepted and ignored, stated in the manifest). Trained from scratch with teacher forcing on the
training split; the epoch with the lowest validation loss is kept (the shifted-site split is never
read here).

Exported as two ONNX graphs (opset 17, dynamic batch axis) so TypeScript drives decoding:
  image-encoder.onnx : image [b,1,64,64] -> image_features [b,64,64], initial_h, initial_c [b,128]
  decoder-step.onnx  : previous_token [b] int64, state_h, state_c, image_features
                       -> logits [b,V], next_h, next_c, attention [b,64]
with golden tensors for both, vocabulary.json, draft-manifest.json (sha256 of every file) and
card.md in models/report-drafter/1/.

    npx tsx models/training/export-caption-features.ts --cohort models/training/.data/cohort
    /usr/bin/python3 models/training/train_caption.py [--cohort DIR] [--caption DIR] [--minutes 8]

Trained on synthetic data only; not for clinical use.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import onnx
import torch
from torch import nn
import torch.nn.functional as F

from manifest_io import OPSET, sha256_file

HERE = os.path.dirname(os.path.abspath(__file__))
FEAT = 64
HIDDEN = 128
EMBED = 64
PAD, BOS, EOS, UNK = 0, 1, 2, 3
MAX_TOKENS = 96
MAX_CHARACTERS = 600
N_FINDINGS = 6  # RADIOGRAPH_FINDINGS in src/preprocess/text/radiograph-findings.ts
AUX_WEIGHT = 1.0
IMAGE_SLOT = 2  # modality_mask order: tabular, text, image, ecg (src/contracts/manifest-types.ts)


class ImageEncoder(nn.Module):
    """CNN 64x64 -> 8x8 grid of FEAT-d features; initial decoder state from their mean."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out, s in ((1, 24, 2), (24, 32, 2), (32, 64, 2), (64, 64, 1)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=s, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.Conv2d(64, FEAT, 1), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        self.findings = nn.Linear(FEAT, N_FINDINGS)
        self.init_h = nn.Linear(FEAT + N_FINDINGS, HIDDEN)
        self.init_c = nn.Linear(FEAT + N_FINDINGS, HIDDEN)

    def encode(self, image):
        """Spatial features, the image-level finding logits, and the decoder's initial state."""
        f = self.conv(image)  # [b, FEAT, 8, 8]
        f = f.flatten(2).transpose(1, 2)  # [b, 64, FEAT]
        mean = f.mean(dim=1)
        logits = self.findings(mean)
        summary = torch.cat([mean, torch.sigmoid(logits)], dim=1)
        return f, logits, torch.tanh(self.init_h(summary)), torch.tanh(self.init_c(summary))

    def forward(self, image):
        f, _, h, c = self.encode(image)
        return f, h, c


class Decoder(nn.Module):
    """LSTM over the previous words, then global ("general") attention of each hidden state over the
    spatial features (Luong et al. 2015); logits from the hidden state and the attended context.
    The LSTM runs over a whole sequence in one call in training; `step` is the same maths for one
    word, the graph the server runs."""

    def __init__(self, vocab: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, EMBED)
        self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True)
        self.att = nn.Linear(HIDDEN, FEAT, bias=False)
        self.drop = nn.Dropout(0.2)
        self.out = nn.Linear(HIDDEN + FEAT, vocab)

    def forward(self, tokens, h0, c0, feats):
        """tokens [b, t] -> logits [b, t, V], h, c, attention [b, t, 64]."""
        hs, (h, c) = self.lstm(self.embed(tokens), (h0.unsqueeze(0), c0.unsqueeze(0)))
        attention = torch.softmax(torch.bmm(self.att(hs), feats.transpose(1, 2)), dim=2)
        context = torch.bmm(attention, feats)
        logits = self.out(self.drop(torch.cat([hs, context], dim=2)))
        return logits, h.squeeze(0), c.squeeze(0), attention


class DecoderStep(nn.Module):
    """One decoding step, exported to ONNX: (previous token, state, features) -> logits, new state."""

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, previous_token, state_h, state_c, image_features):
        logits, h, c, attention = self.decoder(previous_token.unsqueeze(1), state_h, state_c, image_features)
        return logits.squeeze(1), h, c, attention.squeeze(1)


class Drafter(nn.Module):
    def __init__(self, vocab: int):
        super().__init__()
        self.encoder = ImageEncoder()
        self.decoder = Decoder(vocab)
        self.step = DecoderStep(self.decoder)

    def loss(self, image, tokens, findings):
        """Teacher forcing (input <bos> w1 .. wn, target w1 .. wn <eos>; pads ignored) plus the
        auxiliary image-level finding loss, which makes the encoder see what the words must say."""
        feats, finding_logits, h, c = self.encoder.encode(image)
        aux = F.binary_cross_entropy_with_logits(finding_logits, findings, pos_weight=torch.full((N_FINDINGS,), 2.0))
        length = int((tokens != PAD).sum(dim=1).max())
        target = tokens[:, :length]
        prev = torch.cat([torch.full((tokens.shape[0], 1), BOS, dtype=torch.long), target[:, :-1]], dim=1)
        logits, _, _, _ = self.decoder(prev, h, c, feats)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD) + AUX_WEIGHT * aux

    @torch.no_grad()
    def greedy(self, image, max_tokens=MAX_TOKENS):
        feats, h, c = self.encoder(image)
        prev = torch.full((image.shape[0],), BOS, dtype=torch.long)
        out = []
        done = torch.zeros(image.shape[0], dtype=torch.bool)
        for _ in range(max_tokens):
            logits, h, c, _ = self.step(prev, h, c, feats)
            logits[:, [PAD, BOS, UNK]] = -1e9
            prev = logits.argmax(dim=1)
            out.append(prev)
            done |= prev == EOS
            if bool(done.all()):
                break
        return torch.stack(out, dim=1)


def load(cohort: str, caption: str, split: str):
    image = np.load(os.path.join(cohort, split, "image.npy")).astype(np.float32)
    present = np.load(os.path.join(cohort, split, "modality_mask.npy"))[:, IMAGE_SLOT] > 0.5
    tokens = np.load(os.path.join(caption, split, "target_tokens.npy")).astype(np.int64)
    has = np.load(os.path.join(caption, split, "has_target.npy")) > 0.5
    findings = np.load(os.path.join(caption, split, "findings.npy")).astype(np.float32)
    keep = present & has
    return image[keep], tokens[keep], findings[keep]


def auroc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y > 0.5], s[y <= 0.5]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Small shifts, contrast/brightness jitter and noise: detector-agnostic invariances."""
    b = x.shape[0]
    dx, dy = rng.integers(-2, 3, size=2)
    x = torch.roll(x, shifts=(int(dy), int(dx)), dims=(2, 3))
    gain = torch.from_numpy(rng.uniform(0.9, 1.1, size=(b, 1, 1, 1)).astype(np.float32))
    bias = torch.from_numpy(rng.uniform(-0.1, 0.1, size=(b, 1, 1, 1)).astype(np.float32))
    return x * gain + bias + 0.05 * torch.randn_like(x)


def detok(ids, tokens) -> str:
    words = []
    for i in ids:
        if i == EOS:
            break
        words.append(tokens[i])
    return " ".join(words).replace(" .", ".").replace(" ,", ",").replace(" ;", ";")


def train(args):
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(1)
    tokens = json.load(open(os.path.join(args.caption, "vocabulary.json")))["tokens"]
    xtr, ytr, ftr = load(args.cohort, args.caption, "train")
    xva, yva, fva = load(args.cohort, args.caption, "validation")
    ftr_t, fva_t = torch.from_numpy(ftr), torch.from_numpy(fva)
    mean, std = float(xtr.mean()), float(xtr.std())
    norm = lambda a: torch.from_numpy((a - mean) / std)  # noqa: E731
    xtr_t, ytr_t, xva_t, yva_t = norm(xtr), torch.from_numpy(ytr), norm(xva), torch.from_numpy(yva)
    model = Drafter(len(tokens))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    # Cosine decay over the planned epochs: the validation loss is noisy at the peak rate.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    best, best_state, started, epoch = float("inf"), None, time.time(), 0
    print(f"train {len(xtr)} / validation {len(xva)} image+report pairs; vocabulary {len(tokens)}")
    while epoch < args.epochs and time.time() - started < args.minutes * 60:
        model.train()
        order = rng.permutation(len(xtr))
        total = 0.0
        for k in range(0, len(order), args.batch):
            idx = torch.from_numpy(order[k:k + args.batch])
            loss = model.loss(augment(xtr_t[idx], rng), ytr_t[idx], ftr_t[idx])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += float(loss) * len(idx)
        schedule.step()
        model.eval()
        with torch.no_grad():
            val = float(np.mean([float(model.loss(xva_t[k:k + 256], yva_t[k:k + 256], fva_t[k:k + 256])) for k in range(0, len(xva_t), 256)]))
            _, fl, _, _ = model.encoder.encode(xva_t)
        aucs = " ".join(f"{auroc(fva[:, k], fl[:, k].numpy()):.2f}" for k in range(N_FINDINGS - 1))
        epoch += 1
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        print(f"epoch {epoch}: train {total / len(xtr):.3f} validation {val:.3f} finding AUROC {aucs} ({time.time() - started:.0f} s)", flush=True)
        if epoch % 5 == 0:
            for g, r in zip(model.greedy(xva_t[:2]).tolist(), yva[:2].tolist()):
                print("  drafted:  ", detok(g, tokens))
                print("  reference:", detok(r, tokens))
    model.load_state_dict(best_state)
    model.eval()
    return model, tokens, mean, std, {"epochs": epoch, "bestValidationLoss": round(best, 4)}


def export(model: Drafter, tokens, mean, std, info, args):
    folder = os.path.join(args.models, "report-drafter", "1")
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    xte, _, _ = load(args.cohort, args.caption, "test")
    golden_image = ((xte[:4] - mean) / std).astype(np.float32)
    enc_path = os.path.join(folder, "image-encoder.onnx")
    dec_path = os.path.join(folder, "decoder-step.onnx")
    with torch.no_grad():
        img = torch.from_numpy(golden_image)
        torch.onnx.export(model.encoder, (img,), enc_path, input_names=["image"],
                          output_names=["image_features", "initial_h", "initial_c"],
                          dynamic_axes={n: {0: "batch"} for n in ["image", "image_features", "initial_h", "initial_c"]},
                          opset_version=OPSET, do_constant_folding=True)
        feats, h, c = model.encoder(img)
        prev = torch.tensor([BOS, 5, 10, EOS], dtype=torch.long)
        names_in = ["previous_token", "state_h", "state_c", "image_features"]
        names_out = ["logits", "next_h", "next_c", "attention"]
        torch.onnx.export(model.step, (prev, h, c, feats), dec_path, input_names=names_in, output_names=names_out,
                          dynamic_axes={n: {0: "batch"} for n in names_in + names_out},
                          opset_version=OPSET, do_constant_folding=True)
        logits, nh, nc, att = model.step(prev, h, c, feats)
    for p in (enc_path, dec_path):
        onnx.checker.check_model(onnx.load(p))
    golden = {"golden-input-image.npy": golden_image, "golden-output-image_features.npy": feats.numpy(),
              "golden-output-initial_h.npy": h.numpy(), "golden-output-initial_c.npy": c.numpy(),
              "golden-input-previous_token.npy": prev.numpy().astype(np.int64), "golden-input-state_h.npy": h.numpy(),
              "golden-input-state_c.npy": c.numpy(), "golden-input-image_features.npy": feats.numpy(),
              "golden-output-logits.npy": logits.numpy(), "golden-output-next_h.npy": nh.numpy(),
              "golden-output-next_c.npy": nc.numpy(), "golden-output-attention.npy": att.numpy()}
    for name, value in golden.items():
        np.save(os.path.join(folder, name), value)
    with open(os.path.join(folder, "vocabulary.json"), "w", encoding="utf-8") as f:
        json.dump({"tokens": tokens}, f, indent=1)
        f.write("\n")
    v = len(tokens)
    t = lambda name, dtype, shape: {"name": name, "dtype": dtype, "shape": shape}  # noqa: E731
    dataset = json.load(open(os.path.join(args.cohort, "dataset.json")))
    manifest = {
        "schemaVersion": 1,
        "name": "report-drafter",
        "version": "1",
        "title": "Chest radiograph description drafter (preliminary text for clinician review)",
        "description": "CNN image encoder with an attention LSTM decoder that drafts the findings and impression of a chest radiograph, word by word from a closed vocabulary. Trained on synthetic data; for demonstrating and testing draft write-back, not for clinical use.",
        "trainingData": {"synthetic": True, "description": dataset["description"] + "; pairs are each patient's model-input radiograph and the FINDINGS and IMPRESSION sentences of its radiology report (DiagnosticReport category RAD), identifiers and dates stripped, vocabulary from the training split only"},
        "files": {},
        "graphs": {
            "encoder": {"file": "image-encoder.onnx",
                        "inputs": [t("image", "float32", [-1, 1, 64, 64])],
                        "outputs": [t("image_features", "float32", [-1, 64, FEAT]), t("initial_h", "float32", [-1, HIDDEN]),
                                    t("initial_c", "float32", [-1, HIDDEN])]},
            "decoder": {"file": "decoder-step.onnx",
                        "inputs": [t("previous_token", "int64", [-1]), t("state_h", "float32", [-1, HIDDEN]),
                                   t("state_c", "float32", [-1, HIDDEN]), t("image_features", "float32", [-1, 64, FEAT])],
                        "outputs": [t("logits", "float32", [-1, v]), t("next_h", "float32", [-1, HIDDEN]),
                                    t("next_c", "float32", [-1, HIDDEN]), t("attention", "float32", [-1, 64])]},
        },
        "vocabulary": "vocabulary.json",
        "decoding": {"bosId": BOS, "eosId": EOS, "padId": PAD, "unknownId": UNK, "maxTokens": MAX_TOKENS,
                     "maxCharacters": MAX_CHARACTERS, "beamSize": 1, "usesContextTokens": False},
        "preprocessing": {"image": {"lookbackHours": 720, "modalities": ["CR", "DX"], "bodyPart": "CHEST",
                                    "bodyParts": ["CHEST"], "viewPositions": ["PA", "AP"], "allowMissingTags": [],
                                    "size": [64, 64], "mean": round(mean, 6), "std": round(std, 6)}},
        "training": info,
    }
    write_card(folder)
    manifest["files"] = {n: sha256_file(os.path.join(folder, n)) for n in sorted(os.listdir(folder))}
    with open(os.path.join(folder, "draft-manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {folder}")


def write_card(folder: str) -> None:
    card = f"""# report-drafter@1 — chest radiograph description drafter

**Trained on synthetic data only** (the fhir-fusion synthetic cohort). It demonstrates and tests
drafting a preliminary radiology description for clinician review; it is not for clinical use.

## Intended use

Given the preprocessed 64×64 chest radiograph the risk models see, draft the FINDINGS and
IMPRESSION sentences. The draft is written back as a `preliminary` FHIR DiagnosticReport and
becomes `final` only when a clinician accepts it. It is a draft for a reader, never a read.

## Architecture

A 4-layer CNN maps the radiograph to an 8×8 grid of {FEAT}-d features (image-encoder.onnx). An
image-level head predicts the six findings the evaluation checks from their mean (an auxiliary loss
against the findings the target text asserts, read by the project's negation-aware extraction), and
the decoder's initial LSTM state comes from the mean features and those probabilities. Each decoder step (decoder-step.onnx) feeds the previous word to an
LSTM ({HIDDEN} units), attends from the new hidden state over the 64 spatial features (global
"general" attention, Luong et al. 2015) and computes the next word's logits from the hidden state
and the attended context (the CNN + attention-LSTM model of the project's seed paper; Show, Attend
and Tell, Xu et al. 2015, for image captioning with spatial attention).
fhir-fusion decodes greedily in TypeScript, running both graphs in the inference worker threads,
and stops at `<eos>`, {MAX_TOKENS} tokens or {MAX_CHARACTERS} characters (then `truncated`).
Report context is not used (`decoding.usesContextTokens: false`).

## Training data

Each training patient's model-input radiograph paired with the FINDINGS and IMPRESSION sentences
of its radiology report (`models/training/export-caption-features.ts`), identifiers and dates
stripped (`src/preprocess/text/draft-target.ts`). One wording per meaning: a sentence that mentions
a finding is trained as the training split's most frequent sentence with the same finding
signature (the finding, its negation-aware assertion, side and zone; `findingSignature`), so greedy
decoding does not prefer "No …" only because the abnormal wordings split their probability. The
evaluation compares drafts with the original report text. The vocabulary is the training split's words
(≥ 3 occurrences) and sentence punctuation: no digits, so a draft cannot contain a number, a date
or an identifier. Teacher forcing, Adam, small shift/contrast/noise augmentation; the epoch with
the lowest validation loss is kept. The shifted-site split is never read in training.

## Limitations

The cohort's reports come from a small set of templates, so fluent text is easy and the figures
below say more about whether the right findings are named than about language. Subtle findings
(small effusions, faint consolidation) are hard to see at 64×64. On the same-site test set the
figures below meet both targets issue 20 set: finding F1 ≥ 0.8, and ≥ 95 % of normal studies without
a hallucinated finding when "normal" and "hallucinated" are judged by the report *and* the image's
ground truth (98.6 %); judged by the report alone, 87.3 % — most of the difference is
cardiomegaly the film shows and the synthetic report missed. The shifted site has more false
findings (90.4 % by report and image, 76.7 % by report) and misses that target.
Atelectasis is almost never drafted. Synthetic data only.
"""
    with open(os.path.join(folder, "card.md"), "w", encoding="utf-8") as f:
        f.write(card)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cohort", default=os.path.join(HERE, ".data", "cohort"))
    p.add_argument("--caption", default=os.path.join(HERE, ".data", "caption"))
    p.add_argument("--models", default=os.path.join(HERE, ".."))
    p.add_argument("--minutes", type=float, default=8.0)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=20261123)
    args = p.parse_args()
    model, tokens, mean, std, info = train(args)
    export(model, tokens, mean, std, info, args)


if __name__ == "__main__":
    main()
