"""Interim synthetic cohort, generated directly in tensor space.

WHY THIS EXISTS: the project's own cohort generator (src/sandbox/cohort/) and TypeScript
preprocessing (src/preprocess/) produce FHIR resources and turn them into tensors; the
recipe's primary data path is `export-features.ts`, which runs exactly that code so that
training and serving cannot drift apart. Until that path is available (or when
`--source interim` is chosen), this module simulates the *preprocessed* tensors directly,
with the same shapes, units and modality presence conventions as the manifests declare.

Everything here is synthetic. The generative story is deliberately simple and documented so
that model cards can state it:

* age ~ N(67, 14) clipped to [18, 100]; sex female ~ Bernoulli(0.5).
* atrial fibrillation (AF), acute heart failure (HF) and pneumonia (PNA) are drawn from
  logistic models of age (HF also depends on AF).
* each modality carries partial, noisy evidence: labs/vitals (all three), chest radiograph
  (cardiomegaly and edema for HF, focal opacity for PNA), report text (findings mentioned with
  limited sensitivity), 12-lead ECG (irregular RR and absent P waves for AF, low QRS voltage
  and tachycardia for HF).
* modalities are missing at random: tabular 5%, text 30%, image 40%, ECG 45%.

Outputs raw (unnormalised) tabular values in canonical UCUM units; train.py computes the
normalisation statistics on the training split.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

IMAGE_SIZE = 64
ECG_RATE_HZ = 100
ECG_SECONDS = 10
ECG_SAMPLES = ECG_RATE_HZ * ECG_SECONDS
ECG_IMAGE_SIZE = (96, 128)
MAX_TOKENS = 48
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

# Vocabulary of the report text, index = token id (0 = pad, 1 = unknown). Negated words carry
# the `NEG_` prefix, as the manifest's `negationPrefix` tells the TypeScript tokenizer to do.
FINDING_WORDS = [
    "cardiomegaly", "enlarged", "cardiac", "silhouette", "pulmonary", "edema", "vascular",
    "congestion", "pleural", "effusion", "effusions", "consolidation", "focal", "airspace",
    "opacity", "infiltrate", "lobe", "right", "left", "lower", "upper", "bilateral", "interstitial",
    "markings", "heart", "size", "normal", "lungs", "clear", "pneumothorax", "acute",
    "cardiopulmonary", "process", "atelectasis", "mild", "moderate", "small", "large",
]
FUNCTION_WORDS = ["no", "there", "is", "are", "the", "with", "of", "and", "without", "evidence",
                  "seen", "findings", "impression", "chest", "radiograph", "pa", "view", "stable"]
VOCAB = ["<pad>", "<unk>"] + FUNCTION_WORDS + FINDING_WORDS + ["NEG_" + w for w in FINDING_WORDS]
TOKEN_ID = {t: i for i, t in enumerate(VOCAB)}


def _feature_names() -> list[str]:
    with open(os.path.join(HERE, "tabular-features.json"), encoding="utf-8") as f:
        return [feat["name"] for feat in json.load(f)["features"]]


@dataclass
class Split:
    """One split of the cohort, as arrays keyed like the manifest tensor roles."""

    tabular_values: np.ndarray  # [N, F] float32, raw canonical units, 0 where missing
    tabular_mask: np.ndarray  # [N, F] float32
    text_tokens: np.ndarray  # [N, L] int64
    image: np.ndarray  # [N, 1, H, W] float32, raw intensity in [0, 1]
    ecg_waveform: np.ndarray  # [N, 12, S] float32, mV
    ecg_image: np.ndarray  # [N, 1, H, W] float32 in [0, 1]
    modality_mask: np.ndarray  # [N, 4] float32, order tabular, text, image, ecg
    labels: np.ndarray  # [N, 3] float32, order HF, PNA, AF
    age: np.ndarray  # [N] float32 (for subgroup evaluation)
    sex_female: np.ndarray  # [N] float32


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _tabular(rng: np.random.Generator, age, female, hf, pna, af):
    n = age.shape[0]
    a = (age - 67.0) / 10.0
    cols = {
        "age_years": age,
        "sex_female": female,
        "heart_rate": 78 + 9 * af + 4 * pna + 4 * hf + rng.normal(0, 14, n),
        "respiratory_rate": 16 + 1.5 * pna + 1.5 * hf + rng.normal(0, 3.5, n),
        "oxygen_saturation": np.minimum(100, 97 - 1.0 * pna - 0.8 * hf + rng.normal(0, 2.0, n)),
        "body_temperature": 36.8 + 0.35 * pna + rng.normal(0, 0.6, n),
        "systolic_bp": 130 + 3 * a - 4 * hf + rng.normal(0, 18, n),
        "diastolic_bp": 78 + rng.normal(0, 10, n),
        "nt_probnp": np.exp(np.log(180) + 0.25 * a + 0.8 * hf + 0.3 * af + rng.normal(0, 1.0, n)),
        "troponin_i_hs": np.exp(np.log(8) + 0.15 * a + 0.3 * hf + rng.normal(0, 0.8, n)),
        "creatinine": np.maximum(0.3, 1.0 + 0.05 * a + 0.25 * hf + rng.normal(0, 0.3, n)),
        "leukocytes": np.maximum(1.0, 7.5 + 1.8 * pna + rng.normal(0, 2.6, n)),
        "c_reactive_protein": np.exp(np.log(5) + 0.7 * pna + 0.2 * hf + rng.normal(0, 1.0, n)),
        "potassium": 4.2 + rng.normal(0, 0.45, n),
        "sodium": 139 - 1.5 * hf + rng.normal(0, 3.0, n),
        "procalcitonin": np.exp(np.log(0.05) + 0.8 * pna + rng.normal(0, 1.0, n)),
        "glucose": np.exp(np.log(105) + 0.05 * pna + rng.normal(0, 0.2, n)),
        "lactate": np.exp(np.log(1.1) + 0.15 * pna + 0.15 * hf + rng.normal(0, 0.3, n)),
    }
    names = _feature_names()
    values = np.stack([cols[name] for name in names], axis=1).astype(np.float32)
    # Vitals are nearly always charted, labs less often; demographics always known.
    present_p = {"age_years": 1.0, "sex_female": 1.0, "heart_rate": 0.97, "respiratory_rate": 0.93,
                 "oxygen_saturation": 0.95, "body_temperature": 0.9, "systolic_bp": 0.95,
                 "diastolic_bp": 0.95, "nt_probnp": 0.55, "troponin_i_hs": 0.6, "creatinine": 0.85,
                 "leukocytes": 0.85, "c_reactive_protein": 0.6, "potassium": 0.85, "sodium": 0.85,
                 "procalcitonin": 0.4, "glucose": 0.85, "lactate": 0.5}
    p = np.array([present_p[name] for name in names], dtype=np.float32)
    mask = (rng.random((n, len(names))) < p).astype(np.float32)
    return values * mask, mask


def _say(words: list[str], finding: bool, negatable: bool) -> list[str]:
    if finding:
        return words
    if negatable:
        return ["no"] + ["NEG_" + w for w in words]
    return []


def _text(rng: np.random.Generator, hf, pna, af) -> np.ndarray:
    n = hf.shape[0]
    out = np.zeros((n, MAX_TOKENS), dtype=np.int64)
    for i in range(n):
        toks = ["chest", "radiograph", "pa", "view", "findings"]
        # Mentions have limited sensitivity and some false positives: the text is evidence, not label.
        cardiomegaly = rng.random() < (0.55 if hf[i] else 0.08)
        edema = rng.random() < (0.45 if hf[i] else 0.04)
        effusion = rng.random() < (0.35 if hf[i] else 0.06) or (pna[i] and rng.random() < 0.15)
        consolidation = rng.random() < (0.55 if pna[i] else 0.06)
        toks += _say(["cardiomegaly"] if rng.random() < 0.5 else ["enlarged", "cardiac", "silhouette"],
                     cardiomegaly, False) or ["heart", "size", "normal"]
        toks += _say(["pulmonary", "edema"] if rng.random() < 0.6 else ["vascular", "congestion"], edema,
                     rng.random() < 0.5)
        toks += _say(["pleural", "effusion"], effusion, True)
        side = ["right", "left"][rng.integers(2)] + " " + ["lower", "upper"][rng.integers(2)]
        toks += _say([*side.split(), "lobe", "consolidation"] if rng.random() < 0.6 else
                     ["focal", "airspace", "opacity"], consolidation, False) or \
            (["no", "NEG_focal", "NEG_consolidation"] if rng.random() < 0.7 else [])
        toks += _say(["pneumothorax"], False, rng.random() < 0.5)
        if not (cardiomegaly or edema or effusion or consolidation) and rng.random() < 0.5:
            toks += ["impression", "no", "NEG_acute", "NEG_cardiopulmonary", "NEG_process"]
        ids = [TOKEN_ID.get(t, 1) for t in toks][:MAX_TOKENS]
        out[i, : len(ids)] = ids
    return out


def _image(rng: np.random.Generator, hf, pna) -> np.ndarray:
    n = hf.shape[0]
    s = IMAGE_SIZE
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    out = np.empty((n, 1, s, s), dtype=np.float32)
    for i in range(n):
        img = 0.55 + 0.05 * rng.normal()
        # Lung fields: two darker ellipses.
        for cx in (0.3, 0.7):
            lung = ((xx - cx) / 0.17) ** 2 + ((yy - 0.5) / 0.32) ** 2 < 1
            img = np.where(lung, img - 0.3, img)
        # Heart silhouette: cardiothoracic ratio grows with heart failure.
        ctr = 0.42 + 0.08 * hf[i] + rng.normal(0, 0.045)
        heart = ((xx - 0.53) / (ctr / 2)) ** 2 + ((yy - 0.68) / 0.16) ** 2 < 1
        img = np.where(heart, 0.75, img)
        if hf[i] and rng.random() < 0.6:  # perihilar haze of edema
            img = img + 0.12 * np.exp(-(((xx - 0.5) / 0.3) ** 2 + ((yy - 0.45) / 0.2) ** 2))
        if pna[i] and rng.random() < 0.8:  # focal opacity in one lung
            cx = rng.choice([0.28, 0.72]) + rng.normal(0, 0.04)
            cy = rng.uniform(0.35, 0.75)
            r = rng.uniform(0.06, 0.12)
            img = img + 0.28 * np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))
        img = img + rng.normal(0, 0.06, (s, s))
        out[i, 0] = np.clip(img, 0, 1)
    return out


_LEAD_GAIN = np.array([1.0, 1.3, 0.5, -1.1, 0.6, 0.9, -0.6, 0.4, 0.9, 1.3, 1.2, 1.0], dtype=np.float32)


def _ecg(rng: np.random.Generator, hf, af) -> np.ndarray:
    n = hf.shape[0]
    t = np.arange(ECG_SAMPLES, dtype=np.float32) / ECG_RATE_HZ
    out = np.empty((n, 12, ECG_SAMPLES), dtype=np.float32)
    for i in range(n):
        rate = 72 + 5 * hf[i] + 8 * af[i] + rng.normal(0, 12)
        rr_mean = 60.0 / max(rate, 40)
        beats, x = [], rng.uniform(0, rr_mean)
        while x < ECG_SECONDS:
            beats.append(x)
            # AF: irregularly irregular RR; sinus: small variability.
            x += rr_mean * (rng.uniform(0.8, 1.2) if af[i] else rng.normal(1.0, 0.06))
        qrs_amp = (1.0 - 0.12 * hf[i]) * rng.uniform(0.7, 1.3)
        sig = np.zeros_like(t)
        for b in beats:
            if not af[i] or rng.random() < 0.3:  # some AF tracings are misread as sinus
                sig += 0.12 * np.exp(-((t - (b - 0.16)) ** 2) / (2 * 0.02**2))  # P wave
            sig += qrs_amp * np.exp(-((t - b) ** 2) / (2 * 0.012**2))  # QRS
            sig -= 0.15 * qrs_amp * np.exp(-((t - b - 0.03) ** 2) / (2 * 0.01**2))
            sig += 0.25 * np.exp(-((t - (b + 0.3)) ** 2) / (2 * 0.05**2))  # T wave
        if af[i]:  # fibrillatory baseline
            sig += 0.05 * np.sin(2 * np.pi * rng.uniform(5, 7) * t + rng.uniform(0, 6))
        wander = 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6))
        leads = _LEAD_GAIN[:, None] * sig[None, :] + wander[None, :]
        out[i] = leads + rng.normal(0, 0.06, leads.shape)
    return out


def render_ecg_image(ecg: np.ndarray) -> np.ndarray:
    """Render [N, 12, S] waveforms into [N, 1, 96, 128] images: one 8-pixel band per lead."""
    n = ecg.shape[0]
    h, w = ECG_IMAGE_SIZE
    band = h // 12
    out = np.zeros((n, 1, h, w), dtype=np.float32)
    cols = np.linspace(0, ecg.shape[2] - 1, w).astype(np.int64)
    for lead in range(12):
        v = ecg[:, lead, cols]  # [N, W]
        row = np.clip(np.round(band / 2 - v * (band / 3)), 0, band - 1).astype(np.int64) + lead * band
        out[np.arange(n)[:, None], 0, row, np.arange(w)[None, :]] = 1.0
    return out


def generate(n: int, seed: int) -> Split:
    """Generate `n` synthetic patients deterministically from `seed`."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(67, 14, n), 18, 100).astype(np.float32)
    female = (rng.random(n) < 0.5).astype(np.float32)
    a = (age - 67.0) / 10.0
    af = (rng.random(n) < _sigmoid(-2.0 + 0.5 * a - 0.2 * female)).astype(np.float32)
    hf = (rng.random(n) < _sigmoid(-1.9 + 0.4 * a + 0.9 * af)).astype(np.float32)
    pna = (rng.random(n) < _sigmoid(-1.8 + 0.2 * a)).astype(np.float32)
    tab_v, tab_m = _tabular(rng, age, female, hf, pna, af)
    text = _text(rng, hf, pna, af)
    image = _image(rng, hf, pna)
    ecg = _ecg(rng, hf, af)
    presence = (rng.random((n, 4)) < np.array([0.95, 0.7, 0.6, 0.55])).astype(np.float32)
    # Missing modalities are fed as zeros, exactly as the server does.
    tab_v *= presence[:, 0:1]
    tab_m *= presence[:, 0:1]
    text *= presence[:, 1:2].astype(np.int64)
    image *= presence[:, 2, None, None, None]
    ecg *= presence[:, 3, None, None]
    ecg_img = render_ecg_image(ecg) * presence[:, 3, None, None, None]
    return Split(tab_v, tab_m, text, image, ecg, ecg_img, presence,
                 np.stack([hf, pna, af], axis=1).astype(np.float32), age, female)


def write_split(split: Split, directory: str) -> None:
    """Write a split as one .npy per array (the same layout export-features.ts writes)."""
    os.makedirs(directory, exist_ok=True)
    for key, value in split.__dict__.items():
        np.save(os.path.join(directory, f"{key}.npy"), value)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, ".data", "interim"))
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--validation", type=int, default=1000)
    parser.add_argument("--test", type=int, default=1500)
    args = parser.parse_args()
    for offset, (name, size) in enumerate([("train", args.train), ("validation", args.validation),
                                           ("test", args.test)]):
        write_split(generate(size, args.seed + offset), os.path.join(args.out, name))
        print(f"{name}: {size} patients")
    with open(os.path.join(args.out, "vocabulary.json"), "w", encoding="utf-8") as f:
        json.dump({"tokens": VOCAB}, f)
    with open(os.path.join(args.out, "dataset.json"), "w", encoding="utf-8") as f:
        json.dump({
            "source": "interim",
            "description": (f"Interim synthetic cohort from models/training/interim_cohort.py (seed {args.seed}; "
                            f"{args.train} train / {args.validation} validation / {args.test} test patients), "
                            "generated directly as preprocessed tensors; every patient is synthetic."),
            "seed": args.seed,
            "counts": {"train": args.train, "validation": args.validation, "test": args.test},
            "shapes": {"tabular_values": [len(_feature_names())], "text_tokens": [MAX_TOKENS],
                       "image": [1, IMAGE_SIZE, IMAGE_SIZE], "ecg_waveform": [12, ECG_SAMPLES],
                       "ecg_image": [1, *ECG_IMAGE_SIZE]},
            "ecgSampleRateHz": ECG_RATE_HZ, "ecgSeconds": ECG_SECONDS, "ecgLeads": LEADS,
            "labels": ["56675007", "233604007", "49436004"],
        }, f, indent=2)
