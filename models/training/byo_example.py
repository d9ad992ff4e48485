"""Bring-your-own-model worked example (docs/bring-your-own-model.md, issue 19 point 6).

Builds two model version folders that fhir-fusion serves without any code change:

- ``shufflenet-cxr/1``: torchvision's ShuffleNetV2 (x0.5, num_classes=3) on the 64x64 chest
  radiograph, the grey-scale image repeated to the three channels torchvision expects, sigmoid on
  top; exported to ONNX with a dynamic batch axis.
- ``wordpiece-text/1``: a tiny report-text model fed by the WordPiece tokenizer
  (``input_ids``, ``attention_mask``, ``token_type_ids``; masked mean of token embeddings).

Both are UNTRAINED: weights are torchvision's / PyTorch's random initialisation with a fixed seed,
no pretrained weights are downloaded and no data is used. Their outputs mean nothing; they exist
to show the contract (manifest, files and sha256, golden tensors, card) end to end. To serve a
trained model, train it on your data first and keep every other step.

Usage (Debian python3-torch, python3-torchvision, python3-onnx; no network):
    /usr/bin/python3 models/training/byo_example.py --out /tmp/byo-models
    npx tsx src/cli/index.ts models verify   # with MODELS_DIR=/tmp/byo-models, see the doc

Do not write the output under models/: the server loads every models/<name>/<version>/ folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os

import numpy as np
import onnx
import torch
import torchvision

OPSET = 17
OUTCOMES = [
    {"system": "http://snomed.info/sct", "code": "56675007", "display": "Acute heart failure"},
    {"system": "http://snomed.info/sct", "code": "233604007", "display": "Pneumonia"},
    {"system": "http://snomed.info/sct", "code": "49436004", "display": "Atrial fibrillation"},
]
BANDS = [{"min": 0, "code": "low"}, {"min": 0.2, "code": "moderate"}, {"min": 0.5, "code": "high"}]
UNTRAINED = ("None: untrained. Random initialisation (torch.manual_seed(0)); no data, no pretrained "
             "weights. Outputs are meaningless; for demonstrating the serving contract only.")
MAX_TOKENS = 32
# Special tokens first (ids 0-3), then words and pieces of the synthetic reports' phrasing.
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", ".", ",", "no", "heart", "size", "is", "normal",
              "the", "cardiac", "silhouette", "enlarged", "cardio", "##me", "##gal", "##y", "pleural",
              "effusion", "##s", "pneumothorax", "focal", "consolidation", "pulmonary", "edema",
              "vascular", "congestion", "mild", "bilateral", "acute", "lungs", "are", "clear", "or",
              "with", "without", "opacit", "##ies", "lobe", "lower", "upper", "right", "left"]


class GreyToRgbSigmoid(torch.nn.Module):
    """[B, 1, H, W] grey scale -> the torchvision network's 3 channels -> probabilities [B, 3]."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(image.expand(-1, 3, -1, -1)))


class MaskedMeanText(torch.nn.Module):
    """Token + segment embeddings, mean over attention_mask == 1, linear, sigmoid.

    A row with no token at all (a missing report reaches the model as all zeros, mask included) is
    divided by max(count, 1), so it gives sigmoid(bias) instead of NaN.
    """

    def __init__(self, vocab: int, width: int = 16) -> None:
        super().__init__()
        self.tokens = torch.nn.Embedding(vocab, width)
        self.segments = torch.nn.Embedding(2, width)
        self.head = torch.nn.Linear(width, len(OUTCOMES))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        x = (self.tokens(input_ids) + self.segments(token_type_ids)) * mask
        pooled = x.sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return torch.sigmoid(self.head(pooled))


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def export(model: torch.nn.Module, inputs: dict[str, np.ndarray], folder: str,
           dynamic: dict[str, dict[int, str]]) -> None:
    """ONNX export (dynamic axes as given), graph check, golden inputs and PyTorch's outputs."""
    model.eval()
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(model, args, path, input_names=list(inputs), output_names=["probabilities"],
                      dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        out = model(*args).numpy().astype(np.float32)
    for name, value in inputs.items():
        np.save(os.path.join(folder, f"golden-input-{name}.npy"), value)
    np.save(os.path.join(folder, "golden-output-probabilities.npy"), out)


def finish(folder: str, manifest: dict, card: str) -> None:
    """card.md, then manifest.json listing the sha256 of every other file in the folder."""
    with open(os.path.join(folder, "card.md"), "w", encoding="utf-8") as f:
        f.write(card)
    manifest["files"] = {name: sha256(os.path.join(folder, name))
                         for name in sorted(os.listdir(folder)) if name != "manifest.json"}
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def header(name: str, title: str, description: str) -> dict:
    return {"schemaVersion": 1, "name": name, "version": "1", "title": title,
            "description": description,
            "trainingData": {"synthetic": True, "description": UNTRAINED}, "files": {}}


def outcomes() -> list[dict]:
    return [{"index": i, "coding": c, "thresholds": BANDS, "calibration": {"method": "none"}}
            for i, c in enumerate(OUTCOMES)]


def card(title: str, what: str, inputs: str) -> str:
    return f"""# {title}

> **Untrained example — not for clinical use.** Random initialisation (seed 0), no training data,
> no pretrained weights. Its probabilities mean nothing. It demonstrates how a model built
> elsewhere is served by fhir-fusion (docs/bring-your-own-model.md); the reference models it sits
> beside are trained on synthetic data only.

- Model: {what}
- Inputs: {inputs}
- Outputs: probabilities [batch, 3] for acute heart failure (SNOMED CT 56675007), pneumonia
  (233604007), atrial fibrillation (49436004); bands low < 0.2 <= moderate < 0.5 <= high.
- Built by: `/usr/bin/python3 models/training/byo_example.py --out DIR`.
- Performance: none measured (untrained). Fairness, external and local validity: not assessed.
"""


def image_model(out: str) -> None:
    folder = os.path.join(out, "shufflenet-cxr", "1")
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(0)
    net = torchvision.models.shufflenet_v2_x0_5(weights=None, num_classes=len(OUTCOMES))
    model = GreyToRgbSigmoid(net)
    golden = {"image": np.random.default_rng(0).standard_normal((2, 1, 64, 64)).astype(np.float32)}
    export(model, golden, folder, {"image": {0: "batch"}, "probabilities": {0: "batch"}})
    manifest = header("shufflenet-cxr", "ShuffleNetV2 x0.5 chest radiograph (untrained example)",
                      "torchvision shufflenet_v2_x0_5(num_classes=3) on the 64x64 chest radiograph; "
                      "untrained bring-your-own-model example.")
    manifest.update({
        "inputs": [{"name": "image", "dtype": "float32", "shape": [-1, 1, 64, 64], "role": "image"}],
        "outputs": [{"name": "probabilities", "dtype": "float32", "shape": [-1, 3],
                     "role": "probabilities"}],
        "preprocessing": {"image": {
            "lookbackHours": 720, "modalities": ["CR", "DX"], "bodyPart": "CHEST",
            "bodyParts": ["CHEST"], "viewPositions": ["PA", "AP"], "size": [64, 64],
            "mean": 0.35, "std": 0.18}},
        "outcomes": outcomes(),
        "applicability": {"requires": ["image"], "toleratesMissing": []},
        "abstention": {"minimumInformation": {"anyOf": [{"modality": "image"}]}},
    })
    finish(folder, manifest, card("shufflenet-cxr@1", "torchvision ShuffleNetV2 x0.5, num_classes=3",
                                  "the chest radiograph, [batch, 1, 64, 64] float32"))


def text_model(out: str) -> None:
    folder = os.path.join(out, "wordpiece-text", "1")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCABULARY) + "\n")
    torch.manual_seed(0)
    model = MaskedMeanText(len(VOCABULARY))
    # Golden rows: "[CLS] cardiomegaly . [SEP]" and an all-zero row (how a missing report arrives).
    ids = np.zeros((2, MAX_TOKENS), dtype=np.int64)
    mask = np.zeros((2, MAX_TOKENS), dtype=np.int64)
    row = [2, 15, 16, 17, 18, 4, 3]
    ids[0, :len(row)] = row
    mask[0, :len(row)] = 1
    golden = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    dynamic = {n: {0: "batch", 1: "sequence"} for n in golden} | {"probabilities": {0: "batch"}}
    export(model, golden, folder, dynamic)
    manifest = header("wordpiece-text", "WordPiece report-text model (untrained example)",
                      "Masked mean of WordPiece token embeddings over the radiology report; "
                      "untrained bring-your-own-model example.")
    manifest.update({
        "inputs": [
            {"name": "input_ids", "dtype": "int64", "shape": [-1, MAX_TOKENS], "role": "text-tokens"},
            {"name": "attention_mask", "dtype": "int64", "shape": [-1, MAX_TOKENS],
             "role": "text-attention-mask"},
            {"name": "token_type_ids", "dtype": "int64", "shape": [-1, MAX_TOKENS],
             "role": "text-token-types"},
        ],
        "outputs": [{"name": "probabilities", "dtype": "float32", "shape": [-1, 3],
                     "role": "probabilities"}],
        "preprocessing": {"text": {
            "lookbackHours": 720, "categories": ["RAD"], "tokenizer": "vocab.txt",
            "tokenizerType": "wordpiece", "maxTokens": MAX_TOKENS, "lowercase": True,
            "wordpiece": {"specialTokens": {"unknown": "[UNK]", "classification": "[CLS]",
                                            "separator": "[SEP]", "padding": "[PAD]"}}}},
        "outcomes": outcomes(),
        "applicability": {"requires": ["text"], "toleratesMissing": []},
        "abstention": {"minimumInformation": {"anyOf": [{"modality": "text"}]}},
    })
    finish(folder, manifest, card("wordpiece-text@1", "token embeddings, masked mean, linear (16 wide)",
                                  "input_ids, attention_mask, token_type_ids: [batch, 32] int64 "
                                  "from the WordPiece tokenizer (vocab.txt)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder to write <name>/1/ into (not models/)")
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    image_model(out)
    text_model(out)
    print(f"wrote {out}/shufflenet-cxr/1 and {out}/wordpiece-text/1 (untrained examples)")


if __name__ == "__main__":
    main()
