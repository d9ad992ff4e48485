"""Writes a model version folder: ONNX export, golden tensors, manifest.json (shape of
src/contracts/manifest-types.ts `ModelManifest`) with sha256 of every other file."""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17

# dtype of each tensor role (manifest-types.ts TensorSpec.role).
ROLE_DTYPE = {"tabular-values": "float32", "tabular-mask": "float32", "text-tokens": "int64",
              "image": "float32", "ecg-waveform": "float32", "ecg-image": "float32",
              "modality-mask": "float32", "probabilities": "float32", "localisation": "float32",
              "localisation-offset": "float32", "finding-map": "float32",
              "finding-probabilities": "float32"}
# Output roles by tensor name: the faithful localisation map of image-cnn and its offset (issue 20).
# and its finding localiser's region maps and presence probabilities.
OUTPUT_ROLE = {"probabilities": "probabilities", "localisation_map": "localisation",
               "localisation_offset": "localisation-offset", "finding_map": "finding-map",
               "finding_probabilities": "finding-probabilities"}
TENSOR_ROLE = {"tabular_values": "tabular-values", "tabular_mask": "tabular-mask",
               "text_tokens": "text-tokens", "image": "image", "ecg_waveform": "ecg-waveform",
               "ecg_image": "ecg-image", "modality_mask": "modality-mask"}


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_json(name: str) -> dict:
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def export_onnx(model: torch.nn.Module, inputs: dict[str, np.ndarray], path: str,
                outputs: tuple[str, ...] = ("probabilities",)) -> None:
    """Export with a dynamic batch axis on every input and output, then check the graph."""
    model.eval()
    names = list(inputs)
    args = tuple(torch.from_numpy(inputs[n]) for n in names)
    dynamic = {n: {0: "batch"} for n in names + list(outputs)}
    torch.onnx.export(model, args, path, input_names=names, output_names=list(outputs),
                      dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def golden_outputs(model: torch.nn.Module, inputs: dict[str, np.ndarray],
                   outputs: tuple[str, ...] = ("probabilities",)) -> dict[str, np.ndarray]:
    """PyTorch's outputs on the golden inputs, by output name."""
    model.eval()
    with torch.no_grad():
        out = model(*[torch.from_numpy(v) for v in inputs.values()])
    out = out if isinstance(out, tuple) else (out,)
    return {n: o.numpy().astype(np.float32) for n, o in zip(outputs, out)}


def write_golden(model: torch.nn.Module, inputs: dict[str, np.ndarray], folder: str,
                 outputs: tuple[str, ...] = ("probabilities",)) -> list[str]:
    """Run PyTorch on the golden inputs and save inputs and outputs as .npy; returns file names."""
    files = []
    inputs_then_outputs = [(f"golden-input-{n}.npy", v) for n, v in inputs.items()] + \
        [(f"golden-output-{n}.npy", v) for n, v in golden_outputs(model, inputs, outputs).items()]
    for file, value in inputs_then_outputs:
        np.save(os.path.join(folder, file), value)
        files.append(file)
    return files


def tensor_specs(inputs: dict[str, np.ndarray], n_outcomes: int,
                 outputs: dict[str, tuple[int, ...]] | None = None) -> tuple[list[dict], list[dict]]:
    """Manifest `inputs` and `outputs`; `outputs` maps output names to their shapes without the
    batch axis (default: probabilities only)."""
    specs = [{"name": n, "dtype": ROLE_DTYPE[TENSOR_ROLE[n]], "shape": [-1, *v.shape[1:]],
              "role": TENSOR_ROLE[n]} for n, v in inputs.items()]
    shapes = outputs if outputs is not None else {"probabilities": (n_outcomes,)}
    return specs, [{"name": n, "dtype": "float32", "shape": [-1, *shape], "role": OUTPUT_ROLE[n]}
                   for n, shape in shapes.items()]


def outcome_specs() -> list[dict]:
    spec = load_json("outcomes.json")
    return [{"index": i, "coding": o["coding"], "thresholds": spec["thresholds"],
             "calibration": {"method": "none"}} for i, o in enumerate(spec["outcomes"])]


def refresh_file_hashes(folder: str) -> dict:
    """Recompute `files` (every file but manifest.json) and rewrite the manifest."""
    path = os.path.join(folder, "manifest.json")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    manifest["files"] = {name: sha256_file(os.path.join(folder, name))
                         for name in sorted(os.listdir(folder)) if name != "manifest.json"}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def write_manifest(folder: str, manifest: dict) -> dict:
    with open(os.path.join(folder, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    return refresh_file_hashes(folder)


def write_manifest_keeping_ts_numbers(folder: str, manifest: dict) -> dict:
    """`write_manifest` for a manifest that TypeScript (models:evaluate) wrote last: keeps its
    number spelling (JSON.stringify writes 2.5e-7 where Python writes 2.5e-07), so a script that
    changes one section leaves a diff of that section only."""
    written = write_manifest(folder, manifest)
    path = os.path.join(folder, "manifest.json")
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"(\d)e([-+])0(\d)", r"\1e\2\3", f.read())
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return written
