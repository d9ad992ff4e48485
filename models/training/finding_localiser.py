"""Training and export of image-cnn's finding localiser (issue 20).

    /usr/bin/python3 models/training/finding_localiser.py --data DIR [--folder models/image-cnn/1]

Trains `FindingLocaliser` on the training split's films and ground-truth lesion regions
(`lesion_masks.npy`, written by export-features.ts; never in FHIR or DICOM), picks the epoch with
the lowest validation loss, and adds its two outputs to an image-cnn version folder *without
retraining the risk model*: the risk model is rebuilt from the folder's own `model.onnx`
(`localisation_export.unimodal_from_onnx`), wrapped with the new branch, re-exported, and the
script refuses to write when the rebuilt probabilities or outcome maps differ from the folder's
golden tensors by more than 1e-5. Writes the golden finding outputs, the manifest's `outputs` and
`imageFindings` (from image-findings.json), and refreshes the sha256 list. Held-out figures are
not computed here: `npm run models:evaluate` scores the maps (pointing game, IoU) and the presence
calls (precision, recall) on the test splits and writes them into the manifest and card.
Deterministic given --seed, on one thread.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import manifest_io as mio
from localisation_export import unimodal_from_onnx
from model_defs import FindingLocaliser, ImageModelWithFindings, LocalisingImageModel

HERE = os.path.dirname(os.path.abspath(__file__))


def load_split(folder: str, mean: float, std: float) -> dict[str, np.ndarray]:
    """Films with the image present, normalised as the manifest says, with their lesion masks."""
    present = np.load(os.path.join(folder, "modality_mask.npy"))[:, 2] > 0
    images = np.load(os.path.join(folder, "image.npy"))[present]
    masks = np.load(os.path.join(folder, "lesion_masks.npy"))[present].astype(np.float32)
    return {"image": ((images - mean) / std).astype(np.float32), "masks": masks,
            "labels": np.load(os.path.join(folder, "labels.npy"))[present]}


def targets(masks: torch.Tensor, cells: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-cell soft targets (share of the cell inside the region) and per-film presence."""
    share = F.adaptive_avg_pool2d(masks, cells)
    return share, (masks.amax(dim=(2, 3)) > 0).float()


def loss_of(model: FindingLocaliser, image: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    region, presence = model.logits(image)
    share, present = targets(masks, region.shape[-1])
    # The region loss counts only the films that show the finding: the map says where a finding
    # is, given that it is there; whether it is there is the presence head's job.
    per_cell = F.binary_cross_entropy_with_logits(region, share, reduction="none").mean(dim=(2, 3))
    region_loss = (per_cell * present).sum() / present.sum().clamp(min=1)
    return region_loss + F.binary_cross_entropy_with_logits(presence, present)


def train_finder(train: dict, validation: dict, n_findings: int, seed: int, epochs: int = 40,
                 log=print) -> FindingLocaliser:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = FindingLocaliser(n_findings)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs)
    x, m = torch.from_numpy(train["image"]), torch.from_numpy(train["masks"])
    vx, vm = torch.from_numpy(validation["image"]), torch.from_numpy(validation["masks"])
    best, best_state = float("inf"), None
    for epoch in range(epochs):
        model.train()
        for idx in np.array_split(rng.permutation(len(x)), max(1, len(x) // 64)):
            i = torch.from_numpy(idx)
            optimiser.zero_grad()
            loss_of(model, x[i], m[i]).backward()
            optimiser.step()
        schedule.step()
        model.eval()
        with torch.no_grad():
            val = float(loss_of(model, vx, vm))
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        log(f"epoch {epoch + 1}/{epochs}: validation loss {val:.4f}")
    model.load_state_dict(best_state)
    return model.eval()


def image_findings(lesion_types: list[str]) -> tuple[list[dict], list[int]]:
    """Manifest `imageFindings` and, per finding, its lesion channel in the export's masks."""
    spec = mio.load_json("image-findings.json")
    findings = [{"index": i, "coding": f["coding"], "threshold": spec["threshold"]}
                for i, f in enumerate(spec["findings"])]
    return findings, [lesion_types.index(f["lesion"]) for f in spec["findings"]]


CARD_BULLET = (
    "- Also outputs where (issue 20): a finding localiser, its own small CNN over the same input, gives "
    "per image finding (SNOMED CT 8186001 cardiomegaly, 60046008 pleural effusion, 95436008 lung "
    "consolidation) a 16×16 map of where it is and the probability that the film shows it, trained on "
    "the synthetic cohort's ground-truth lesion regions; figures under \"Localisation\". Regions are "
    "AI findings for review, not diagnoses.\n")


def add_card_bullet(path: str) -> None:
    """Says in the card's "Details" what the extra outputs are (once; cards.py writes the rest)."""
    with open(path, encoding="utf-8") as f:
        card = f.read()
    if CARD_BULLET in card or "- Architecture: " not in card:
        return
    at = card.index("\n", card.index("- Architecture: ")) + 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(card[:at] + CARD_BULLET + card[at:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", default=os.path.join(os.path.dirname(HERE), "image-cnn", "1"))
    parser.add_argument("--data", required=True, help="feature export folder with train/ and validation/")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = args.folder
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    spec = manifest["preprocessing"]["image"]
    with open(os.path.join(args.data, "dataset.json"), encoding="utf-8") as f:
        lesion_types = json.load(f)["lesionTypes"]
    findings, channels = image_findings(lesion_types)
    train = load_split(os.path.join(args.data, "train"), spec["mean"], spec["std"])
    validation = load_split(os.path.join(args.data, "validation"), spec["mean"], spec["std"])
    for split in (train, validation):
        split["masks"] = split["masks"][:, channels]
    finder = train_finder(train, validation, len(findings), args.seed, args.epochs)

    base = unimodal_from_onnx(os.path.join(folder, "model.onnx"))
    reference = LocalisingImageModel.negative_reference(base, train["image"], train["labels"])
    model = ImageModelWithFindings(LocalisingImageModel(base, reference), finder).eval()
    gold = {"image": np.load(os.path.join(folder, "golden-input-image.npy"))}
    got = mio.golden_outputs(model, gold, ImageModelWithFindings.OUTPUTS)
    for name in LocalisingImageModel.OUTPUTS:
        diff = float(np.abs(got[name] - np.load(os.path.join(folder, f"golden-output-{name}.npy"))).max())
        if diff > 1e-5:
            raise SystemExit(f"rebuilt model's {name} differs from its golden tensor by {diff:.2e}; not writing")
    mio.export_onnx(model, gold, os.path.join(folder, "model.onnx"), outputs=ImageModelWithFindings.OUTPUTS)
    for name in FindingLocaliser.OUTPUTS:
        np.save(os.path.join(folder, f"golden-output-{name}.npy"), got[name])
    _, manifest["outputs"] = mio.tensor_specs(gold, 3, {n: tuple(v.shape[1:]) for n, v in got.items()})
    manifest["imageFindings"] = findings
    add_card_bullet(os.path.join(folder, "card.md"))
    mio.write_manifest_keeping_ts_numbers(folder, manifest)
    print(f"wrote {folder}: finding map {tuple(got['finding_map'].shape[1:])}, "
          f"{len(findings)} findings; risk outputs unchanged")


if __name__ == "__main__":
    main()
