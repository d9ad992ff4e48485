"""Export of image-cnn with its faithful localisation map (issue 20).

    /usr/bin/python3 models/training/localisation_export.py --data DIR [--folder models/image-cnn/1]

`train.py` calls `export_localising` for image-cnn, so a fresh build writes the map. Run alone,
the script adds the map to an already-trained version folder *without retraining*: it rebuilds the
PyTorch module from the weights in that folder's `model.onnx` (the export had folded each
BatchNorm into its convolution, so the rebuilt stack has plain convolutions with those folded
weights), re-exports it with the two extra outputs, writes their golden tensors and the manifest's
`outputs`, and refreshes the sha256 in `files`. The probability path keeps the same operators and
the same weights, so the probabilities do not change: the script refuses to write when the
rebuilt module's probabilities on the golden inputs differ from `golden-output-probabilities.npy`
by more than 1e-5, and leaves that file as it was.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

import manifest_io as mio
from model_defs import ImageEncoder, LocalisingImageModel, Unimodal

HERE = os.path.dirname(os.path.abspath(__file__))


def export_localising(base: Unimodal, gold: dict[str, np.ndarray], folder: str, reference: torch.Tensor,
                      write_probabilities: bool = True) -> dict[str, tuple[int, ...]]:
    """Exports `base` wrapped in `LocalisingImageModel` (with `reference`) to `folder/model.onnx` and
    writes golden outputs (all three, or only the localisation ones); returns output shapes without
    the batch axis."""
    model = LocalisingImageModel(base, reference).eval()
    mio.export_onnx(model, gold, os.path.join(folder, "model.onnx"), outputs=LocalisingImageModel.OUTPUTS)
    outputs = mio.golden_outputs(model, gold, LocalisingImageModel.OUTPUTS)
    for name, value in outputs.items():
        if name != "probabilities" or write_probabilities:
            np.save(os.path.join(folder, f"golden-output-{name}.npy"), value)
    return {name: tuple(value.shape[1:]) for name, value in outputs.items()}


def unimodal_from_onnx(path: str) -> Unimodal:
    """The `Unimodal(ImageEncoder())` whose weights an exported image model holds, with each
    BatchNorm replaced by identity because the export folded it into the convolution before it."""
    graph = onnx.load(path).graph
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    # Only the nodes `probabilities` depends on: a graph that also holds the finding localiser
    # (issue 20, finding_localiser.py) has Conv and Gemm nodes of its own.
    producer = {out: n for n in graph.node for out in n.output}
    needed, stack = set(), ["probabilities"]
    while stack:
        node = producer.get(stack.pop())
        if node is not None and id(node) not in needed:
            needed.add(id(node))
            stack.extend(node.input)
    nodes = [n for n in graph.node if id(n) in needed]
    convs = [n for n in nodes if n.op_type == "Conv"]
    model = Unimodal(ImageEncoder(), 3)
    stack = model.encoder.conv
    conv_layers = [i for i, m in enumerate(stack) if isinstance(m, nn.Conv2d)]
    if len(convs) != len(conv_layers):
        raise ValueError(f"{path}: {len(convs)} Conv nodes, the encoder has {len(conv_layers)}")
    for node, i in zip(convs, conv_layers):
        stack[i].weight.data.copy_(weights[node.input[1]])
        stack[i].bias.data.copy_(weights[node.input[2]])
        stack[i + 1] = nn.Identity()  # the BatchNorm after it, already folded in
    # The two Linear layers are the graph's two Gemm nodes (transB = 1: weights stored [out, in]),
    # in order; initializer names differ between a plain and a localising export.
    gemms = [n for n in nodes if n.op_type == "Gemm"]
    if len(gemms) != 2:
        raise ValueError(f"{path}: expected 2 Gemm nodes (encoder Linear, head), found {len(gemms)}")
    for node, linear in zip(gemms, (model.encoder.out[0], model.head)):
        linear.weight.data.copy_(weights[node.input[1]])
        linear.bias.data.copy_(weights[node.input[2]])
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", default=os.path.join(os.path.dirname(HERE), "image-cnn", "1"))
    parser.add_argument("--data", required=True, help="feature export folder with train/")
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = args.folder
    base = unimodal_from_onnx(os.path.join(folder, "model.onnx"))
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        spec = json.load(f)["preprocessing"]["image"]
    present = np.load(os.path.join(args.data, "train", "modality_mask.npy"))[:, 2] > 0
    images = np.load(os.path.join(args.data, "train", "image.npy"))[present]
    images = ((images - spec["mean"]) / spec["std"]).astype(np.float32)
    labels = np.load(os.path.join(args.data, "train", "labels.npy"))[present]
    reference = LocalisingImageModel.negative_reference(base, images, labels)
    gold = {"image": np.load(os.path.join(folder, "golden-input-image.npy"))}
    expected = np.load(os.path.join(folder, "golden-output-probabilities.npy"))
    got = mio.golden_outputs(LocalisingImageModel(base, reference), gold, LocalisingImageModel.OUTPUTS)
    diff = float(np.abs(got["probabilities"] - expected).max())
    if diff > 1e-5:
        raise SystemExit(f"rebuilt model differs from the golden probabilities by {diff:.2e}; not writing")
    shapes = export_localising(base, gold, folder, reference, write_probabilities=False)
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    _, manifest["outputs"] = mio.tensor_specs(gold, 3, shapes)
    mio.write_manifest_keeping_ts_numbers(folder, manifest)
    print(f"wrote {folder}: outputs {shapes}, probabilities within {diff:.1e} of the golden ones")


if __name__ == "__main__":
    main()
