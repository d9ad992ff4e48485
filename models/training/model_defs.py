"""PyTorch modules of the reference models: per-modality encoders, unimodal baselines and the
fusion models (late, attention, and the early-fusion baseline). Every module here exports to
ONNX opset 17 with a dynamic batch axis: no
packed sequences, no -inf in masks (an all-padding report must still give finite numbers).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MODALITIES = ("tabular", "text", "image", "ecg")
EMBED = 32


class TabularLogistic(nn.Module):
    """Logistic regression over normalised values and missingness indicators."""

    def __init__(self, n_features: int, n_outcomes: int):
        super().__init__()
        self.linear = nn.Linear(2 * n_features, n_outcomes)

    def forward(self, tabular_values, tabular_mask):
        return torch.sigmoid(self.linear(torch.cat([tabular_values * tabular_mask, tabular_mask], dim=1)))


class TabularEncoder(nn.Module):
    """Two-layer MLP over values and missingness indicators."""

    def __init__(self, n_features: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * n_features, 64), nn.ReLU(), nn.Dropout(0.1),
                                 nn.Linear(64, EMBED), nn.ReLU())

    def forward(self, values, mask):
        return self.net(torch.cat([values * mask, mask], dim=1))


class TextEncoder(nn.Module):
    """Bidirectional LSTM over report tokens with additive attention pooling (pads masked)."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 32, padding_idx=0)
        self.lstm = nn.LSTM(32, 32, batch_first=True, bidirectional=True)
        self.score = nn.Linear(64, 1)
        self.out = nn.Sequential(nn.Linear(64, EMBED), nn.ReLU())

    def forward(self, tokens):
        h, _ = self.lstm(self.embed(tokens))  # [B, L, 64]
        # Large negative instead of -inf so an all-pad row gives uniform weights, not NaN.
        scores = self.score(h).squeeze(-1) + (tokens == 0).to(h.dtype) * -1e4
        weights = torch.softmax(scores, dim=1).unsqueeze(-1)
        return self.out((weights * h).sum(dim=1))


def _conv2d_stack(channels: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(*layers)


class ImageEncoder(nn.Module):
    """Small CNN for a single-channel image (chest radiograph or rendered ECG)."""

    def __init__(self):
        super().__init__()
        self.conv = _conv2d_stack((1, 8, 16, 32, 32))
        self.out = nn.Sequential(nn.Linear(32, EMBED), nn.ReLU())

    def forward(self, image):
        return self.out(self.conv(image).mean(dim=(2, 3)))


class FineImageEncoder(nn.Module):
    """The radiograph CNN with a finer last feature map, for the localisation experiment of issue 20
    (`image-cnn-fine`, not shipped): strides 2, 2, 1, 1 with the last convolution dilated by 2 (a
    31-pixel receptive field, about a heart's width at 64×64), so a 64×64 input gives a 16×16 map
    instead of 4×4. Same channels and head as `ImageEncoder`; a separate class so the fusion models'
    image encoder is unchanged."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out, stride, dilation in ((1, 8, 2, 1), (8, 16, 2, 1), (16, 32, 1, 1), (32, 32, 1, 2)):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation),
                       nn.BatchNorm2d(c_out), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        self.out = nn.Sequential(nn.Linear(32, EMBED), nn.ReLU())

    def forward(self, image):
        return self.out(self.conv(image).mean(dim=(2, 3)))


class EcgEncoder(nn.Module):
    """1-D CNN over 12 leads at 100 Hz; average and max pooling keep rhythm and morphology cues."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in ((12, 16), (16, 32), (32, 32), (32, 32)):
            layers += [nn.Conv1d(c_in, c_out, 7, stride=2, padding=3), nn.BatchNorm1d(c_out), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        self.out = nn.Sequential(nn.Linear(64, EMBED), nn.ReLU())

    def forward(self, ecg):
        h = self.conv(ecg)
        return self.out(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))


class Unimodal(nn.Module):
    """One encoder and a linear sigmoid head; `forward` takes the encoder's inputs."""

    def __init__(self, encoder: nn.Module, n_outcomes: int):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(EMBED, n_outcomes)

    def logits(self, *inputs):
        return self.head(self.encoder(*inputs))

    def forward(self, *inputs):
        return torch.sigmoid(self.logits(*inputs))


class FusionBase(nn.Module):
    """Holds one encoder per modality; subclasses decide how the embeddings are combined."""

    def __init__(self, n_features: int, vocab_size: int):
        super().__init__()
        self.tabular = TabularEncoder(n_features)
        self.text = TextEncoder(vocab_size)
        self.image = ImageEncoder()
        self.ecg = EcgEncoder()

    def embeddings(self, tabular_values, tabular_mask, text_tokens, image, ecg_waveform):
        return [self.tabular(tabular_values, tabular_mask), self.text(text_tokens), self.image(image),
                self.ecg(ecg_waveform)]


class ModalityGate(nn.Module):
    """Log-weights of each modality per outcome, conditioned on which modalities are present.

    A base weight per modality and outcome plus a linear function of the presence mask (starting
    at zero), so the model can learn, say, that without the ECG the labs should carry atrial
    fibrillation rather than the image: the weights for every subset of modalities are learned,
    not only their ratios.
    """

    def __init__(self, n_outcomes: int):
        super().__init__()
        self.n_outcomes = n_outcomes
        self.base = nn.Parameter(torch.zeros(len(MODALITIES), n_outcomes))
        self.by_mask = nn.Linear(len(MODALITIES), len(MODALITIES) * n_outcomes)
        nn.init.zeros_(self.by_mask.weight)
        nn.init.zeros_(self.by_mask.bias)

    def forward(self, modality_mask):
        shift = self.by_mask(modality_mask).reshape(-1, len(MODALITIES), self.n_outcomes)
        return self.base.unsqueeze(0) + shift  # [B, 4, K]


def gated_mean(per_modality, modality_mask, gate):
    """Mean of per-modality logits over the present modalities, weighted per outcome.

    `gate` [B, 4, K] holds log-weights per modality and outcome; the weights are a softmax over the
    modalities present (no -inf: absent ones get weight 0 by multiplication), so a missing
    modality's weight moves to the others. Returns the fused logits and the number of modalities
    present.
    """
    m = modality_mask.unsqueeze(-1)  # [B, 4, 1]
    w = torch.exp(gate - gate.max(dim=1, keepdim=True).values) * m  # [B, 4, K]
    total = w.sum(dim=1)  # [B, K]
    fused = (per_modality * w).sum(dim=1) / total.clamp(min=1e-6)
    return fused, m.sum(dim=1)


class LateFusion(FusionBase):
    """Per-modality heads combined in logit space over the modalities present, with a learned
    weight per modality and outcome that depends on which modalities are present
    (`ModalityGate`): a modality that says little about an outcome gets little say in it, so
    removing a strong modality leaves the next-best one in charge instead of an average with weak
    ones.

    With nothing present the learned prior logit (the training prevalence) is returned.
    """

    def __init__(self, n_features: int, vocab_size: int, n_outcomes: int):
        super().__init__(n_features, vocab_size)
        self.heads = nn.ModuleList([nn.Linear(EMBED, n_outcomes) for _ in MODALITIES])
        self.gate = ModalityGate(n_outcomes)
        self.prior = nn.Parameter(torch.zeros(n_outcomes))

    def modality_logits(self, tabular_values, tabular_mask, text_tokens, image, ecg_waveform):
        embs = self.embeddings(tabular_values, tabular_mask, text_tokens, image, ecg_waveform)
        return torch.stack([head(e) for head, e in zip(self.heads, embs)], dim=1)  # [B, 4, K]

    def fuse(self, per_modality, modality_mask):
        mean, count = gated_mean(per_modality, modality_mask, self.gate(modality_mask))
        none = (count == 0).to(mean.dtype)
        return mean * (1 - none) + self.prior * none

    def forward(self, tabular_values, tabular_mask, text_tokens, image, ecg_waveform, modality_mask):
        per = self.modality_logits(tabular_values, tabular_mask, text_tokens, image, ecg_waveform)
        return torch.sigmoid(self.fuse(per, modality_mask))


class AttentionFusion(FusionBase):
    """Cross-modal attention over one token per modality plus a summary token.

    A missing modality's token is replaced by a learned missing-modality embedding, and the
    presence mask is appended to the summary before the multi-outcome head. The head's logits
    are added to a gated mean of per-modality logits (as in `LateFusion`): attention learns the
    cross-modal interactions on top of what each modality says alone, and a removed modality
    degrades the result towards the remaining modalities rather than towards the prior.
    """

    def __init__(self, n_features: int, vocab_size: int, n_outcomes: int, heads: int = 4):
        super().__init__(n_features, vocab_size)
        self.n_heads = heads
        self.type_embed = nn.Parameter(torch.randn(len(MODALITIES), EMBED) * 0.02)
        self.missing_embed = nn.Parameter(torch.randn(len(MODALITIES), EMBED) * 0.02)
        self.summary = nn.Parameter(torch.randn(1, 1, EMBED) * 0.02)
        self.qkv = nn.Linear(EMBED, 3 * EMBED)
        self.proj = nn.Linear(EMBED, EMBED)
        self.norm1 = nn.LayerNorm(EMBED)
        self.ffn = nn.Sequential(nn.Linear(EMBED, 64), nn.ReLU(), nn.Linear(64, EMBED))
        self.norm2 = nn.LayerNorm(EMBED)
        self.head = nn.Linear(EMBED + len(MODALITIES), n_outcomes)
        self.heads = nn.ModuleList([nn.Linear(EMBED, n_outcomes) for _ in MODALITIES])
        self.gate = ModalityGate(n_outcomes)
        # Start as the late-fusion model: the attention head's contribution begins at zero.
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def modality_logits(self, tabular_values, tabular_mask, text_tokens, image, ecg_waveform):
        embs = self.embeddings(tabular_values, tabular_mask, text_tokens, image, ecg_waveform)
        return torch.stack([head(e) for head, e in zip(self.heads, embs)], dim=1)  # [B, 4, K]

    def forward(self, tabular_values, tabular_mask, text_tokens, image, ecg_waveform, modality_mask):
        embs = torch.stack(self.embeddings(tabular_values, tabular_mask, text_tokens, image, ecg_waveform), dim=1)
        per = torch.stack([head(embs[:, i]) for i, head in enumerate(self.heads)], dim=1)  # [B, 4, K]
        late, _ = gated_mean(per, modality_mask, self.gate(modality_mask))
        m = modality_mask.unsqueeze(-1)
        tokens = embs * m + self.missing_embed.unsqueeze(0) * (1 - m) + self.type_embed.unsqueeze(0)
        x = torch.cat([self.summary.expand(tokens.shape[0], -1, -1), tokens], dim=1)  # [B, 5, D]
        b, t, d = x.shape
        hd = d // self.n_heads
        q, k, v = self.qkv(x).reshape(b, t, 3, self.n_heads, hd).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / hd**0.5, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = self.norm1(x + self.proj(y))
        x = self.norm2(x + self.ffn(x))
        return torch.sigmoid(late + self.head(torch.cat([x[:, 0], modality_mask], dim=1)))


class EarlyFusion(nn.Module):
    """Early (input-level) fusion baseline: each modality's input is flattened at low resolution
    and concatenated *before* any modality-specific encoder, then one MLP decides (the
    input-level fusion the multimodal foundation-model reviews compare with latent fusion).

    Inputs as concatenated: tabular values and missingness indicators; the report as a bag of
    words (mean of a learned token embedding over non-padding tokens, i.e. a linear map of the
    token counts); the radiograph average-pooled 64×64 → 16×16; the ECG average-pooled
    100 Hz → 5 Hz per lead (12 × 50). Each block is multiplied by its `modality_mask` entry, so a
    missing modality (or one hidden by modality dropout) contributes zeros, and the mask itself
    is concatenated so the MLP knows what is missing. No per-modality encoder, no pretrained
    weights: it is the baseline the latent-fusion models must beat.
    """

    def __init__(self, n_features: int, vocab_size: int, n_outcomes: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 32, padding_idx=0)
        self.image_pool = nn.AvgPool2d(4)
        self.ecg_pool = nn.AvgPool1d(20)
        width = 2 * n_features + 32 + 16 * 16 + 12 * 50 + len(MODALITIES)
        self.net = nn.Sequential(nn.Linear(width, 128), nn.ReLU(), nn.Dropout(0.2),
                                 nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, n_outcomes))

    def forward(self, tabular_values, tabular_mask, text_tokens, image, ecg_waveform, modality_mask):
        m = modality_mask
        tab = torch.cat([tabular_values * tabular_mask, tabular_mask], dim=1) * m[:, 0:1]
        real = (text_tokens != 0).to(tabular_values.dtype).unsqueeze(-1)
        bag = (self.embed(text_tokens) * real).sum(dim=1) / real.sum(dim=1).clamp(min=1.0) * m[:, 1:2]
        img = self.image_pool(image).flatten(1) * m[:, 2:3]
        ecg = self.ecg_pool(ecg_waveform).flatten(1) * m[:, 3:4]
        return torch.sigmoid(self.net(torch.cat([tab, bag, img, ecg, m], dim=1)))


class LocalisingImageModel(nn.Module):
    """A trained `Unimodal(ImageEncoder())` with a faithful class-activation map as extra outputs
    (issue 20), so one ONNX run gives both the probabilities and where they come from.

    The encoder is conv stack F [N, C, h, w] → spatial mean → Linear (W1, b1) → ReLU → head
    Linear (W2, b2). With the ReLU gates g = 1[z > 0] of the actual input held fixed, the logit is
    exactly linear in F:

        logit_k = b2_k + Σ_e W2_ke g_e b1_e  +  mean_ij Σ_c α_kc F_cij,   α_kc = Σ_e W2_ke g_e W1_ec

    so the class-activation map Σ_c α_kc F_cij (logit units) averages to the logit minus a
    per-patient constant. `localisation_map` [N, K, h, w] is that map minus `reference` [K, h, w],
    the mean map of the training films without the outcome: what every chest film contributes
    (spine, mediastinum, diaphragm) would otherwise dominate every map, so the map shows where this
    film's evidence differs from a negative film's. `localisation_offset` [N, K] = b2_k +
    Σ_e W2_ke g_e b1_e + mean(reference_k): mean over the map's cells + offset = the logit (up to
    float rounding). The probabilities come from the unchanged modules, so wrapping changes none of them.
    """

    OUTPUTS = ("probabilities", "localisation_map", "localisation_offset")

    def __init__(self, base: Unimodal, reference: torch.Tensor | None = None):
        super().__init__()
        self.base = base
        self.referenced = reference is not None
        self.register_buffer("reference", reference if reference is not None else torch.zeros(0))

    def _parts(self, image):
        """Probabilities, the unreferenced map Σ_c α_kc F_cij [N, K, h, w] and b2 + W2 (g ⊙ b1)
        [N, K], from one pass through the convolutions."""
        enc = self.base.encoder
        features = enc.conv(image)  # [N, C, h, w]
        first = enc.out[0]  # Linear C → E
        z = first(features.mean(dim=(2, 3)))  # [N, E], before the ReLU
        probabilities = torch.sigmoid(self.base.head(enc.out[1](z)))
        gate = (z > 0).to(features.dtype)  # [N, E]
        w2 = self.base.head.weight  # [K, E]
        alpha = torch.matmul(gate.unsqueeze(1) * w2.unsqueeze(0), first.weight)  # [N, K, C]
        cam = torch.einsum("nkc,nchw->nkhw", alpha, features)
        offset = self.base.head.bias.unsqueeze(0) + torch.matmul(gate * first.bias.unsqueeze(0), w2.t())
        return probabilities, cam, offset

    def forward(self, image):
        probabilities, cam, offset = self._parts(image)
        if not self.referenced:
            return probabilities, cam, offset
        ref = self.reference.unsqueeze(0)
        return probabilities, cam - ref, offset + ref.mean(dim=(2, 3))

    @staticmethod
    def negative_reference(base: Unimodal, images: np.ndarray, labels: np.ndarray) -> torch.Tensor:
        """Per outcome, the mean unreferenced map over the films (normalised, image present) whose
        label for that outcome is 0."""
        model = LocalisingImageModel(base).eval()
        sums, counts = None, np.zeros(labels.shape[1])
        with torch.no_grad():
            for i in range(0, len(images), 256):
                _, cam, _ = model._parts(torch.from_numpy(images[i:i + 256]))
                neg = torch.from_numpy((labels[i:i + 256] < 0.5).astype(np.float32))  # [n, K]
                part = (cam * neg[:, :, None, None]).sum(dim=0)
                sums = part if sums is None else sums + part
                counts += neg.sum(dim=0).numpy()
        return (sums / torch.from_numpy(np.maximum(counts, 1)).float()[:, None, None]).float()


class FindingLocaliser(nn.Module):
    """Where each image finding is, trained on the cohort's ground-truth lesion regions (issue 20).

    A class-activation map of an *outcome* shows that outcome's evidence, which is not one lesion
    (acute heart failure shows as cardiomegaly and as effusion, in different places), and the
    shipped `image-cnn` map failed its pointing-game evaluation. This branch is supervised on the
    regions themselves: conv stack (64 → 16×16 cells of 4 pixels; dilated convolutions so each cell
    sees the whole film) →
    - `finding_map` [N, F, 16, 16]: per cell, the logit that the cell lies in finding f's region,
      trained only on films that show f (where it is *given* it is there);
    - `finding_probabilities` [N, F]: whether the film shows f at all, from the pooled features
      (cardiomegaly is a size relative to the thorax: a global, not a local, property).
    It reads the same normalised `image` input as the risk model and shares no weights with it, so
    adding it to the risk model's graph changes none of the risk probabilities.
    """

    OUTPUTS = ("finding_map", "finding_probabilities")

    def __init__(self, n_findings: int):
        super().__init__()
        def block(c_in: int, c_out: int, dilation: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation), nn.BatchNorm2d(c_out),
                    nn.ReLU()]
        self.features = nn.Sequential(
            *block(1, 16), nn.MaxPool2d(2),   # 32×32
            *block(16, 32), nn.MaxPool2d(2),  # 16×16
            *block(32, 48), *block(48, 64, 2), *block(64, 64, 4), *block(64, 64, 8),  # 16×16, sees the film
        )
        self.region = nn.Conv2d(64, n_findings, 1)
        self.presence = nn.Linear(128, n_findings)

    def forward(self, image):
        f = self.features(image)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.region(f), torch.sigmoid(self.presence(pooled))

    def logits(self, image):
        f = self.features(image)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.region(f), self.presence(pooled)


class ImageModelWithFindings(nn.Module):
    """`LocalisingImageModel` plus a `FindingLocaliser` over the same input: one ONNX run gives the
    risk probabilities, the outcome maps and the finding maps with their presence probabilities."""

    OUTPUTS = ("probabilities", "localisation_map", "localisation_offset") + FindingLocaliser.OUTPUTS

    def __init__(self, localising: nn.Module, finder: FindingLocaliser):
        super().__init__()
        self.localising = localising
        self.finder = finder

    def forward(self, image):
        probabilities, cam, offset = self.localising(image)
        finding_map, finding_probabilities = self.finder(image)
        return probabilities, cam, offset, finding_map, finding_probabilities
