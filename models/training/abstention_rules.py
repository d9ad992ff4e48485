"""Abstention rules written into every manifest (issue #17): when a patient's input is too thin
for a probability. No heavy imports, so shipped manifests can be updated without torch/onnx:
`python3 models/training/abstention_rules.py` rewrites them in place (model files untouched)."""

from __future__ import annotations

import glob
import json
import os


# Abstention rules (issue #17; src/preprocess/abstention-rules.ts). Decided on the features in
# tabular-features.json: 16 of the 18 come from Observations (age and sex come from the Patient
# and are always there, so they never count as information). In the synthetic cohort each series
# is missing with probability 0.1, so a real admission has ~14 of the 16; "demographics plus one
# heart rate" has 1. Four distinct vitals/labs (or any non-tabular modality the model uses) is
# the minimum below which every outcome is "not assessed: too little information".
OBSERVATION_FEATURES = ["heart_rate", "respiratory_rate", "oxygen_saturation", "body_temperature",
                        "systolic_bp", "diastolic_bp", "nt_probnp", "troponin_i_hs", "creatinine",
                        "glucose", "leukocytes", "c_reactive_protein", "procalcitonin", "potassium",
                        "sodium", "lactate"]
LAB_FEATURES = OBSERVATION_FEATURES[6:]
MIN_OBSERVATION_FEATURES = 4
# Per outcome, what it cannot be assessed without (by outcome code in outcomes.json order):
# acute heart failure needs a natriuretic peptide/troponin, the ECG, the image or the report;
# pneumonia an inflammatory marker, the image or the report; atrial fibrillation the ECG or labs
# (at least two).
OUTCOME_EVIDENCE = [
    (["ecg", "image", "text"], {"features": ["nt_probnp", "troponin_i_hs"], "atLeast": 1}),
    (["image", "text"], {"features": ["leukocytes", "c_reactive_protein", "procalcitonin"], "atLeast": 1}),
    (["ecg"], {"features": LAB_FEATURES, "atLeast": 2}),
]


def apply_abstention_rules(manifest: dict) -> dict:
    """Write `abstention` and `outcomes[].requires` for the modalities the manifest preprocesses."""
    modalities = [m for m in ("tabular", "text", "image", "ecg") if m in manifest["preprocessing"]]
    others = [m for m in modalities if m != "tabular"]
    any_of: list[dict] = [{"modality": m} for m in others]
    if "tabular" in modalities:
        any_of.append({"features": OBSERVATION_FEATURES, "atLeast": MIN_OBSERVATION_FEATURES})
    manifest["abstention"] = {"minimumInformation": {"anyOf": any_of}}
    for outcome in manifest["outcomes"]:
        outcome.pop("requires", None)
        if "tabular" not in modalities:
            # A single-modality model: its one modality is the minimum, nothing more to ask per outcome.
            continue
        mods, feats = OUTCOME_EVIDENCE[outcome["index"]]
        rule = [{"modality": m} for m in mods if m in modalities] + [feats]
        outcome["requires"] = {"anyOf": rule}
    return manifest



def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "..", "*", "*", "manifest.json"))):
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        if "outcomes" not in manifest or "preprocessing" not in manifest:
            continue  # an embedding model (no outcomes to abstain on)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(apply_abstention_rules(manifest), f, indent=2)
            f.write("\n")
        print(f"abstention rules written to {os.path.relpath(path, here)}")


if __name__ == "__main__":
    main()
