"""Train, export and describe the reference models.

    /usr/bin/python3 models/training/train.py --data models/training/.data/cohort [--only tabular-risk]

Reads the split folders written by export-features.ts (or interim_cohort.py): train/,
validation/, test/ each holding one .npy per tensor role plus labels.npy. Writes
models/<name>/1/{model.onnx, manifest.json, card.md, golden-*.npy[, vocabulary.json]}.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import time

import numpy as np
import torch
from torch import nn

import cards
import manifest_io as mio
from abstention_rules import apply_abstention_rules
from localisation_export import export_localising
from model_defs import (AttentionFusion, EarlyFusion, EcgEncoder, FineImageEncoder, ImageEncoder, LateFusion,
                        LocalisingImageModel, TabularEncoder, TabularLogistic, TextEncoder, Unimodal)

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.dirname(HERE)
ARRAYS = ["tabular_values", "tabular_mask", "text_tokens", "image", "ecg_waveform", "ecg_image",
          "modality_mask", "labels"]
FUSION_INPUTS = ["tabular_values", "tabular_mask", "text_tokens", "image", "ecg_waveform", "modality_mask"]


def load_split(folder: str) -> dict[str, np.ndarray]:
    return {k: np.load(os.path.join(folder, f"{k}.npy")) for k in ARRAYS}


def tabular_stats(train: dict[str, np.ndarray], features: list[dict]) -> list[dict]:
    """Mean and std of each feature over the training rows where it is present."""
    v, m = train["tabular_values"], train["tabular_mask"]
    out = []
    for j, feat in enumerate(features):
        x = v[m[:, j] > 0, j].astype(np.float64)
        mean = float(x.mean()) if x.size else 0.0
        std = float(x.std()) if x.size > 1 and x.std() > 1e-6 else 1.0
        out.append({**feat, "mean": round(mean, 6), "std": round(std, 6)})
    return out


def normalise(split: dict[str, np.ndarray], feats: list[dict], image_mean: float, image_std: float):
    """Apply the manifest's normalisation exactly as src/preprocess does: (x - mean) / std."""
    s = dict(split)
    mean = np.array([f["mean"] for f in feats], dtype=np.float32)
    std = np.array([f["std"] for f in feats], dtype=np.float32)
    s["tabular_values"] = ((split["tabular_values"] - mean) / std * split["tabular_mask"]).astype(np.float32)
    present = split["modality_mask"][:, 2, None, None, None]
    s["image"] = (((split["image"] - image_mean) / image_std) * present).astype(np.float32)
    return s


def batches(n: int, size: int, rng: np.random.Generator | None):
    idx = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, size):
        yield idx[i:i + size]


def tensors(split: dict[str, np.ndarray], names: list[str], idx) -> list[torch.Tensor]:
    return [torch.from_numpy(split[n][idx]) for n in names]


def bce(p: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    loss = nn.functional.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y, reduction="none")
    if weight is None:
        return loss.mean()
    return (loss * weight).sum() / weight.sum().clamp(min=1.0) / y.shape[1]


def fit(model: nn.Module, train, val, names: list[str], *, epochs: int, lr: float, rows_train, rows_val,
        modality_dropout: float = 0.0, aux_late: bool = False, seed: int = 0, wd: float = 1e-4) -> float:
    """Adam with early stopping on validation loss; returns the best validation loss."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    best, best_state, patience = float("inf"), None, 0
    for epoch in range(epochs):
        model.train()
        for b in batches(len(rows_train), 128, rng):
            idx = rows_train[b]
            xs = tensors(train, names, idx)
            y = torch.from_numpy(train["labels"][idx])
            if modality_dropout > 0:
                # Modality dropout: hide present modalities at random so the fusion learns to
                # cope with any subset (the mask is the last input of the fusion models).
                keep = torch.from_numpy((rng.random((len(idx), 4)) >= modality_dropout).astype(np.float32))
                xs[-1] = xs[-1] * keep
            loss = bce(model(*xs), y)
            if aux_late:
                per = model.modality_logits(*xs[:-1])
                w = xs[-1].unsqueeze(-1).expand_as(per)
                loss = loss + 0.5 * bce(torch.sigmoid(per), y.unsqueeze(1).expand_as(per), w)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            losses = [bce(model(*tensors(val, names, rows_val[b])), torch.from_numpy(val["labels"][rows_val[b]]))
                      * len(b) for b in batches(len(rows_val), 512, None)]
            vloss = float(sum(losses) / len(rows_val))
        print(f"  epoch {epoch + 1}: validation loss {vloss:.4f}", flush=True)
        if vloss < best - 1e-4:
            best, best_state, patience = vloss, copy.deepcopy(model.state_dict()), 0
        else:
            patience += 1
            if patience >= 2:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return best


def auroc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney AUROC, for the training log only (the evaluation is in src/evaluation/)."""
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def log_test_auroc(model: nn.Module, test, names: list[str], rows: np.ndarray) -> None:
    with torch.no_grad():
        p = model(*tensors(test, names, rows)).numpy()
    y = test["labels"][rows]
    print("  test AUROC (HF, PNA, AF): " + ", ".join(f"{auroc(y[:, k], p[:, k]):.3f}" for k in range(3)),
          flush=True)


def present_rows(split, modality: int | None) -> np.ndarray:
    if modality is None:
        return np.arange(split["labels"].shape[0])
    return np.nonzero(split["modality_mask"][:, modality] > 0)[0]


def golden_inputs(test, names: list[str], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {n: np.ascontiguousarray(test[n][rows]) for n in names}


def preprocessing_section(which: list[str], feats, image_mean, image_std, spec) -> dict:
    pre: dict = {}
    if "tabular" in which:
        pre["tabular"] = {"lookbackHours": spec["tabular"]["lookbackHours"], "features": feats}
    if "text" in which:
        pre["text"] = {"lookbackHours": 720, "categories": ["RAD"], "tokenizer": "vocabulary.json",
                       "maxTokens": spec["text"]["maxTokens"], "lowercase": True, "negationPrefix": "NEG_"}
    if "image" in which:
        pre["image"] = {"lookbackHours": 720, "modalities": ["CR", "DX"], "bodyPart": "CHEST",
                        "bodyParts": ["CHEST"], "viewPositions": ["PA", "AP"], "allowMissingTags": [], "size": spec["image"]["size"],
                        "mean": round(image_mean, 6), "std": round(image_std, 6)}
    for rep in ("ecg-waveform", "ecg-image"):
        if rep in which:
            pre["ecg"] = {"lookbackHours": 720, "sampleRateHz": spec["ecg"]["sampleRateHz"],
                          "durationSeconds": spec["ecg"]["durationSeconds"], "leads": spec["ecg"]["leads"],
                          "representation": "waveform" if rep == "ecg-waveform" else "image",
                          # Input contract (src/preprocess/ecg/ecg-input-contract.ts): what a recording
                          # must satisfy before the model sees it.
                          "inputContract": {"requiredLeads": spec["ecg"]["leads"], "minDurationSeconds": 8,
                                            "maxAbsMv": 10, "minPeakToPeakMv": 0.05, "maxSaturatedFraction": 0.01}}
            if rep == "ecg-image":
                pre["ecg"]["imageSize"] = spec["ecg"]["imageSize"]
    return pre


MODALITY_OF = {"tabular": "tabular", "text": "text", "image": "image", "ecg-waveform": "ecg", "ecg-image": "ecg"}


def write_version(name: str, model: nn.Module, inputs: list[str], which: list[str], info: dict, ctx: dict) -> None:
    folder = os.path.join(ctx["models_dir"], name, "1")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    test = ctx["test"]
    # Golden rows: a few patients with different modality subsets, so the golden check covers masking.
    mm = test["modality_mask"]
    rows = [int(np.argmax(mm.sum(1) == 4)), int(np.argmax(mm[:, 1] == 0)), int(np.argmax(mm[:, 3] == 0)),
            int(np.argmax(mm[:, 2] == 0))]
    gold = golden_inputs(test, inputs, np.array(rows))
    output_shapes = None
    if info.get("localising"):
        # The image model also outputs its faithful class-activation map (issue 20).
        for n, value in gold.items():
            np.save(os.path.join(folder, f"golden-input-{n}.npy"), value)
        train = ctx["train"]
        rows = present_rows(train, 2)
        reference = LocalisingImageModel.negative_reference(model, train["image"][rows], train["labels"][rows])
        output_shapes = export_localising(model, gold, folder, reference)
    else:
        mio.export_onnx(model, gold, os.path.join(folder, "model.onnx"))
        mio.write_golden(model, gold, folder)
    if "text" in which:
        shutil.copyfile(ctx["vocabulary"], os.path.join(folder, "vocabulary.json"))
    modalities = sorted({MODALITY_OF[w] for w in which}, key=["tabular", "text", "image", "ecg"].index)
    ins, outs = mio.tensor_specs(gold, 3, output_shapes)
    manifest = {
        "schemaVersion": 1, "name": name, "version": "1", "title": info["title"],
        "description": info["summary"] + " Trained on synthetic data; for demonstrating and testing the "
                       "pipeline, not for clinical use.",
        "trainingData": {"synthetic": True, "description": ctx["training_text"]},
        "files": {}, "inputs": ins, "outputs": outs,
        "preprocessing": preprocessing_section(which, ctx["features"], ctx["image_mean"], ctx["image_std"],
                                               ctx["spec"]),
        "outcomes": mio.outcome_specs(),
        "applicability": info["applicability"] if "applicability" in info else
        {"requires": modalities, "toleratesMissing": []},
    }
    with open(os.path.join(folder, "card.md"), "w", encoding="utf-8") as f:
        f.write(cards.render_card(name=name, version="1", title=info["title"], summary=info["summary"],
                                  inputs_text=info["inputs_text"], architecture=info["architecture"],
                                  training_text=ctx["training_text"],
                                  features=ctx["features"] if "tabular" in which else None))
    mio.write_manifest(folder, apply_abstention_rules(manifest))
    size = os.path.getsize(os.path.join(folder, "model.onnx"))
    print(f"wrote {folder} (model.onnx {size / 1024:.0f} KiB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(HERE, ".data", "cohort"))
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models-dir", default=MODELS_DIR,
                        help="where version folders are written (default: the shipped models/)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.data, "dataset.json"), encoding="utf-8") as f:
        dataset = json.load(f)
    raw = {s: load_split(os.path.join(args.data, s)) for s in ("train", "validation", "test")}
    spec = mio.load_json("tabular-features.json")
    feats = tabular_stats(raw["train"], spec["features"])
    tr_img = raw["train"]["image"][raw["train"]["modality_mask"][:, 2] > 0]
    image_mean, image_std = float(tr_img.mean()), float(tr_img.std())
    train, val, test = (normalise(raw[s], feats, image_mean, image_std) for s in ("train", "validation", "test"))
    vocab_path = os.path.join(args.data, "vocabulary.json")
    with open(vocab_path, encoding="utf-8") as f:
        vocab_size = len(json.load(f)["tokens"])
    n_feat = len(feats)
    shapes = dataset["shapes"]
    ctx = {"models_dir": args.models_dir, "train": train, "test": test, "features": feats, "image_mean": image_mean, "image_std": image_std,
           "vocabulary": vocab_path, "training_text": dataset["description"],
           "spec": {"tabular": spec, "text": {"maxTokens": shapes["text_tokens"][0]},
                    "image": {"size": shapes["image"][1:]},
                    "ecg": {"sampleRateHz": dataset["ecgSampleRateHz"], "durationSeconds": dataset["ecgSeconds"],
                            "leads": dataset["ecgLeads"], "imageSize": shapes["ecg_image"][1:]}}}
    want = set(args.only) if args.only else None

    def wanted(n: str) -> bool:
        return want is None or n in want

    uni = {
        "tabular-risk": (lambda: TabularLogistic(n_feat, 3), ["tabular_values", "tabular_mask"], ["tabular"], 0,
                         {"title": "Tabular logistic regression (reference)",
                          "summary": "Logistic regression over the latest labs and vital signs plus age and sex, "
                                     "with a missingness indicator per feature.",
                          "architecture": f"logistic regression: one linear layer over {n_feat} normalised values "
                                          f"and {n_feat} missingness indicators, sigmoid per outcome.",
                          "inputs_text": "LOINC-coded vital signs and laboratory results (latest value in a 72 h "
                                         "look-back, converted to the UCUM unit below), age and sex."}),
        "tabular-mlp": (lambda: Unimodal(TabularEncoder(n_feat), 3), ["tabular_values", "tabular_mask"], ["tabular"], 0,
                        {"title": "Tabular MLP (unimodal baseline)",
                         "summary": "Two-layer perceptron over the latest labs and vital signs plus age and sex.",
                         "architecture": f"MLP {2 * n_feat}→64→32 over values and missingness indicators, linear sigmoid head.",
                         "inputs_text": "the tabular features below."}),
        "text-bilstm": (lambda: Unimodal(TextEncoder(vocab_size), 3), ["text_tokens"], ["text"], 1,
                        {"title": "Radiology report BiLSTM with attention (unimodal baseline)",
                         "summary": "Bidirectional LSTM with attention pooling over the chest radiograph report.",
                         "architecture": "token embedding 32, BiLSTM 2×32, additive attention pooling, "
                                         "linear sigmoid head.",
                         "inputs_text": f"report text of a radiology DiagnosticReport, lower-cased, negation-"
                                        f"prefixed, at most {shapes['text_tokens'][0]} tokens (vocabulary.json)."}),
        "image-cnn": (lambda: Unimodal(ImageEncoder(), 3), ["image"], ["image"], 2,
                      {"title": "Chest radiograph CNN (unimodal baseline)",
                       "summary": "Small convolutional network over a downsampled chest radiograph.",
                       "architecture": "4 strided 3×3 conv layers (8–32 channels), global average pool, "
                                       "linear sigmoid head.",
                       "inputs_text": f"one CR/DX chest image resized to {shapes['image'][1]}×{shapes['image'][2]} "
                                      "pixels, scaled to [0, 1] and normalised with the manifest's mean/std.",
                       "localising": True}),
        # Localisation experiment (issue 20), built only when named in --only: image-cnn with a 16×16
        # map instead of 4×4. Not shipped; see README "Localisation".
        "image-cnn-fine": (lambda: Unimodal(FineImageEncoder(), 3), ["image"], ["image"], 2,
                           {"title": "Chest radiograph CNN with a 16×16 localisation map (experiment)",
                            "summary": "image-cnn with strides 2, 2, 1, 1 so its localisation map is 16×16.",
                            "architecture": "4 3×3 conv layers (strides 2, 2, 1, 1; the last dilated by 2; "
                                            "8–32 channels), global average pool, linear sigmoid head.",
                            "inputs_text": f"one CR/DX chest image resized to {shapes['image'][1]}×"
                                           f"{shapes['image'][2]} pixels, as image-cnn.",
                            "localising": True}),
        "ecg-cnn": (lambda: Unimodal(EcgEncoder(), 3), ["ecg_waveform"], ["ecg-waveform"], 3,
                    {"title": "12-lead ECG 1-D CNN (unimodal baseline)",
                     "summary": "One-dimensional CNN over the 12-lead ECG waveform.",
                     "architecture": "4 strided 1-D conv layers (kernel 7), average and max pooling, "
                                     "linear sigmoid head.",
                     "inputs_text": f"12-lead ECG resampled to {dataset['ecgSampleRateHz']} Hz, "
                                    f"{dataset['ecgSeconds']} s, in mV."}),
        "ecg-image-cnn": (lambda: Unimodal(ImageEncoder(), 3), ["ecg_image"], ["ecg-image"], 3,
                          {"title": "ECG-as-image CNN (unimodal baseline)",
                           "summary": "Small CNN over the 12-lead ECG rendered as an image (one band per lead).",
                           "architecture": "4 strided 3×3 conv layers, global average pool, linear sigmoid head.",
                           "inputs_text": f"the 12-lead ECG rendered to a {shapes['ecg_image'][1]}×"
                                          f"{shapes['ecg_image'][2]} image, one horizontal band per lead."}),
    }
    trained: dict[str, nn.Module] = {}
    for name, (ctor, names, which, modality, info) in uni.items():
        if name == "image-cnn-fine" and (want is None or name not in want):
            continue
        if name == "image-cnn-fine" and os.path.abspath(args.models_dir) == os.path.abspath(MODELS_DIR):
            # The server serves every folder under models/: an experiment must not land there.
            raise SystemExit("image-cnn-fine is an experiment: pass --models-dir outside models/")
        if not wanted(name) and name not in ("tabular-mlp", "text-bilstm", "image-cnn", "ecg-cnn"):
            continue
        if not wanted(name) and not (want is None or want & {"late-fusion", "attention-fusion"}):
            continue
        t0 = time.time()
        print(f"training {name}", flush=True)
        model = ctor()
        lr = 0.01 if name == "tabular-risk" else 3e-3
        fit(model, train, val, names, epochs=60 if name == "tabular-risk" else 8, lr=lr,
            rows_train=present_rows(train, modality), rows_val=present_rows(val, modality), wd=1e-4)
        print(f"  {time.time() - t0:.0f} s", flush=True)
        log_test_auroc(model, test, names, present_rows(test, modality))
        trained[name] = model
        if wanted(name):
            write_version(name, model, names, which, info, ctx)

    fusion_info = {
        "late-fusion": (LateFusion, {
            "title": "Late fusion of labs, report text, chest radiograph and ECG",
            "summary": "One encoder and head per modality; logits combined over the modalities present with a "
                       "learned weight per modality and outcome that depends on which modalities are present.",
            "architecture": "tabular MLP, report BiLSTM with attention, image CNN and ECG 1-D CNN (each "
                            "initialised from its unimodal baseline), a linear head per modality, a weighted "
                            "mean of logits over present modalities (softmax over those present of a learned weight per "
                            "modality and outcome that depends on the presence mask; learned prior when none), sigmoid "
                            "per outcome; auxiliary per-modality losses and modality dropout (p = 0.4) in training.",
            "inputs_text": "all four modalities and the presence mask `modality_mask` (tabular, text, image, ecg); "
                           "a missing modality is fed as zeros with its mask entry 0.",
            "applicability": {"requires": ["tabular"], "toleratesMissing": ["text", "image", "ecg"]}}),
        "attention-fusion": (AttentionFusion, {
            "title": "Cross-modal attention fusion of labs, report text, chest radiograph and ECG",
            "summary": "One token per modality from its encoder, learned missing-modality embeddings, "
                       "self-attention across modalities and a multi-outcome sigmoid head.",
            "architecture": "the four unimodal encoders (initialised from the baselines) give one 32-d token "
                            "each; a missing modality's token is a learned embedding; a summary token attends "
                            "over the modality tokens (one 4-head attention block with feed-forward layer); "
                            "the summary and presence mask feed a linear head whose logits are added to a "
                            "gated mean of per-modality head logits (as in late-fusion), sigmoid per outcome. "
                            "Modality dropout (p = 0.4) and auxiliary per-modality losses in training.",
            "inputs_text": "all four modalities and the presence mask `modality_mask` (tabular, text, image, ecg); "
                           "a missing modality is fed as zeros with its mask entry 0.",
            "applicability": {"requires": ["tabular"], "toleratesMissing": ["text", "image", "ecg"]}}),
    }
    for name, (cls, info) in fusion_info.items():
        if not wanted(name):
            continue
        t0 = time.time()
        print(f"training {name}", flush=True)
        model = cls(n_feat, vocab_size, 3)
        model.tabular.load_state_dict(trained["tabular-mlp"].encoder.state_dict())
        model.text.load_state_dict(trained["text-bilstm"].encoder.state_dict())
        model.image.load_state_dict(trained["image-cnn"].encoder.state_dict())
        model.ecg.load_state_dict(trained["ecg-cnn"].encoder.state_dict())
        for head, src in zip(model.heads, ("tabular-mlp", "text-bilstm", "image-cnn", "ecg-cnn")):
            head.load_state_dict(trained[src].head.state_dict())
        # Auxiliary per-modality losses keep each head calibrated on its own, which is what the
        # model falls back on when modalities are missing.
        fit(model, train, val, FUSION_INPUTS, epochs=10, lr=1e-3, rows_train=present_rows(train, None),
            rows_val=present_rows(val, None), modality_dropout=0.4, aux_late=True)
        print(f"  {time.time() - t0:.0f} s", flush=True)
        log_test_auroc(model, test, FUSION_INPUTS, present_rows(test, None))
        write_version(name, model, FUSION_INPUTS, ["tabular", "text", "image", "ecg-waveform"], info, ctx)

    # Early (input-level) fusion baseline (issue 19): trained from scratch with the same inputs,
    # modality dropout and early stopping as the latent-fusion models, no auxiliary losses (it has
    # no per-modality heads).
    if wanted("early-fusion"):
        t0 = time.time()
        print("training early-fusion", flush=True)
        model = EarlyFusion(n_feat, vocab_size, 3)
        fit(model, train, val, FUSION_INPUTS, epochs=30, lr=1e-3, rows_train=present_rows(train, None),
            rows_val=present_rows(val, None), modality_dropout=0.4)
        print(f"  {time.time() - t0:.0f} s", flush=True)
        log_test_auroc(model, test, FUSION_INPUTS, present_rows(test, None))
        info = {
            "title": "Early (input-level) fusion baseline of labs, report text, chest radiograph and ECG",
            "summary": "The four modalities' inputs, flattened at low resolution, concatenated before any "
                       "modality-specific encoder and fed to one MLP: the input-level fusion baseline the "
                       "latent-fusion models are compared with.",
            "architecture": f"concatenation of tabular values and missingness indicators ({2 * n_feat}), the "
                            "report as a bag of words (mean of a learned 32-d token embedding over non-padding "
                            "tokens), the radiograph average-pooled to 16×16 (256), the ECG average-pooled to "
                            "5 Hz per lead (12×50), each block zeroed when its modality is absent, and the "
                            "presence mask (4); MLP →128→64→3 with dropout, sigmoid per outcome. Trained from "
                            "scratch with modality dropout (p = 0.4).",
            "inputs_text": "all four modalities and the presence mask `modality_mask` (tabular, text, image, ecg); "
                           "a missing modality is fed as zeros with its mask entry 0.",
            "applicability": {"requires": ["tabular"], "toleratesMissing": ["text", "image", "ecg"]}}
        write_version("early-fusion", model, FUSION_INPUTS, ["tabular", "text", "image", "ecg-waveform"], info, ctx)


if __name__ == "__main__":
    main()
