"""Tests of the faithful localisation map (issue 20).

    cd models/training && /usr/bin/python3 -m unittest test_localisation -v
"""

from __future__ import annotations

import os
import unittest

import numpy as np
import torch

import manifest_io as mio
from localisation_export import unimodal_from_onnx
from model_defs import FindingLocaliser, ImageEncoder, ImageModelWithFindings, LocalisingImageModel, Unimodal

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "image-cnn", "1")


def random_model(seed: int) -> Unimodal:
    """An untrained image model with non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = Unimodal(ImageEncoder(), 3)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


class FaithfulMapTest(unittest.TestCase):
    def test_mean_of_map_plus_offset_is_the_logit(self):
        torch.set_num_threads(1)
        for seed in range(3):
            model = random_model(seed)
            image = torch.randn(8, 1, 64, 64)
            reference = LocalisingImageModel.negative_reference(model, torch.randn(16, 1, 64, 64).numpy(),
                                                                 (np.arange(48).reshape(16, 3) % 2).astype(np.float32))
            with torch.no_grad():
                prob, cam, offset = LocalisingImageModel(model, reference if seed else None)(image)
                logit = model.logits(image)
                plain = model(image)
            self.assertEqual(tuple(cam.shape), (8, 3, 4, 4))
            np.testing.assert_allclose((cam.mean(dim=(2, 3)) + offset).numpy(), logit.numpy(), atol=1e-4)
            np.testing.assert_array_equal(prob.numpy(), plain.numpy())

    def test_map_is_not_the_plain_feature_mean(self):
        # Two images whose ReLU gates differ must get different α: the map depends on the gates,
        # so a map computed with all gates open (the usual CAM) would not reproduce the logit.
        model = random_model(0)
        image = torch.randn(4, 1, 64, 64)
        enc = model.encoder
        with torch.no_grad():
            features = enc.conv(image)
            _, cam, offset = LocalisingImageModel(model)(image)
            open_alpha = model.head.weight @ enc.out[0].weight  # every gate open
            open_cam = torch.einsum("kc,nchw->nkhw", open_alpha, features)
            z = enc.out[0](features.mean(dim=(2, 3)))
        self.assertTrue(bool((z <= 0).any()), "test needs some closed gates")
        self.assertGreater(float((open_cam - cam).abs().max()), 1e-3)

    @unittest.skipUnless(os.path.exists(os.path.join(SHIPPED, "golden-output-localisation_map.npy")),
                         "shipped image-cnn has no localisation golden tensors")
    def test_shipped_weights_rebuild_reproduces_the_golden_tensors(self):
        base = unimodal_from_onnx(os.path.join(SHIPPED, "model.onnx"))
        gold = {"image": np.load(os.path.join(SHIPPED, "golden-input-image.npy"))}
        got = mio.golden_outputs(LocalisingImageModel(base), gold, LocalisingImageModel.OUTPUTS)
        want = {n: np.load(os.path.join(SHIPPED, f"golden-output-{n}.npy")) for n in LocalisingImageModel.OUTPUTS}
        np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-5)
        # The shipped map is the rebuilt unreferenced map minus one reference for every patient,
        # and its offset carries the reference's mean: the logit identity holds for both.
        reference = got["localisation_map"] - want["localisation_map"]  # [N, K, h, w]
        np.testing.assert_allclose(reference, np.broadcast_to(reference[:1], reference.shape), atol=1e-5)
        self.assertGreater(float(np.abs(reference).max()), 0.01)
        np.testing.assert_allclose(want["localisation_offset"] - got["localisation_offset"],
                                   reference.mean(axis=(2, 3)), atol=1e-5)
        logit = np.log(want["probabilities"] / (1 - want["probabilities"]))
        np.testing.assert_allclose(want["localisation_map"].mean(axis=(2, 3)) + want["localisation_offset"], logit,
                                   atol=1e-4)


class FindingLocaliserTest(unittest.TestCase):
    def test_wrapping_adds_finding_outputs_and_changes_no_risk_output(self):
        torch.set_num_threads(1)
        torch.manual_seed(0)
        base = random_model(1)
        localising = LocalisingImageModel(base).eval()
        model = ImageModelWithFindings(localising, FindingLocaliser(3).eval()).eval()
        image = torch.randn(5, 1, 64, 64)
        with torch.no_grad():
            prob, cam, offset, finding_map, finding_prob = model(image)
            want = localising(image)
        for got, expected in zip((prob, cam, offset), want):
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
        self.assertEqual(tuple(finding_map.shape), (5, 3, 16, 16))
        self.assertEqual(tuple(finding_prob.shape), (5, 3))
        self.assertTrue(bool(((finding_prob >= 0) & (finding_prob <= 1)).all()))

    def test_region_loss_counts_only_films_that_show_the_finding(self):
        from finding_localiser import loss_of
        torch.manual_seed(0)
        finder = FindingLocaliser(1).eval()
        image = torch.randn(2, 1, 64, 64)
        empty = torch.zeros(2, 1, 64, 64)
        with torch.no_grad():
            region, presence = finder.logits(image)
            # No film shows the finding: only the presence term is left.
            expected = torch.nn.functional.binary_cross_entropy_with_logits(presence, torch.zeros_like(presence))
            self.assertAlmostEqual(float(loss_of(finder, image, empty)), float(expected), places=5)

    @unittest.skipUnless(os.path.exists(os.path.join(SHIPPED, "golden-output-finding_map.npy")),
                         "shipped image-cnn has no finding localiser")
    def test_shipped_risk_weights_rebuild_from_a_graph_that_also_holds_the_finder(self):
        base = unimodal_from_onnx(os.path.join(SHIPPED, "model.onnx"))
        gold = {"image": np.load(os.path.join(SHIPPED, "golden-input-image.npy"))}
        got = mio.golden_outputs(base, gold)
        np.testing.assert_allclose(got["probabilities"], np.load(os.path.join(SHIPPED, "golden-output-probabilities.npy")),
                                   atol=1e-5)


if __name__ == "__main__":
    unittest.main()
