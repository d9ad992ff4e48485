"""Model cards (card.md) for the reference models.

Sections follow the source attributes ONC's HTI-1 final rule requires for a predictive decision
support intervention (45 CFR 170.315(b)(11)(iv)(B)): details and output, purpose, cautioned
out-of-scope use, development details and input features, fairness process, external validation,
quantitative performance, ongoing maintenance. The performance section between the
`metrics:start`/`metrics:end` markers is rewritten by `npm run models:evaluate`.
"""

from __future__ import annotations

METRICS_START = "<!-- metrics:start -->"
METRICS_END = "<!-- metrics:end -->"

OUTPUT_TEXT = ("Three probabilities, one per outcome (SNOMED CT 56675007 acute heart failure, 233604007 "
               "pneumonia, 49436004 atrial fibrillation), each mapped to a qualitative risk band "
               "(low < 0.2 <= moderate < 0.5 <= high). fhir-fusion writes them back as a FHIR R4 "
               "`RiskAssessment` (one `prediction` per outcome) with a `Provenance` naming the model "
               "and every input resource version.")


def render_card(*, name: str, version: str, title: str, summary: str, inputs_text: str,
                architecture: str, training_text: str, features: list[dict] | None) -> str:
    feature_lines = ""
    if features:
        feature_lines = "\n".join(
            f"| `{f['name']}` | {', '.join(f['loinc']) or f['source']} | `{f['unit']}` | {f['aggregate']} |"
            for f in features)
        feature_lines = ("\n| feature | LOINC / source | UCUM unit | aggregate |\n| --- | --- | --- | --- |\n"
                         + feature_lines + "\n")
    demographics = ("Age (from `Patient.birthDate`) and sex (from `Patient.gender`, 1 = female) are input "
                    "features." if features else
                    "No demographic variable is an input; age and sex are used only for subgroup evaluation.")
    return f"""# {title} — `{name}` version {version}

> **Trained on synthetic data only. For demonstrating and testing the fhir-fusion pipeline;
> not for clinical use.** No real patient contributed to training, validation or testing, and the
> reported figures say nothing about performance on real patients.

## Details and output of the intervention

- Name and version: `{name}` {version}. Developer: the fhir-fusion project (open source,
  Apache-2.0); no external funding.
- {summary}
- Output: {OUTPUT_TEXT}
- Architecture: {architecture}

## Purpose of the intervention

- Intended use: exercising and demonstrating fhir-fusion end to end (subscriptions, assembly,
  preprocessing, ONNX Runtime inference, FHIR write-back, SMART app and CDS Hooks review) in
  sandboxes, tests and integration work.
- Intended users: integration engineers and clinical-AI teams evaluating the software.
- Intended patient population: the synthetic adult cohort described below (ages 18–100).
- Intended decision-making role: none. Results must not inform, augment or replace any clinical
  decision.

## Cautioned out-of-scope use

- Any use on real patients, for triage, diagnosis, treatment or operational decisions.
- Known risks and limitations: the synthetic generative story is simple and its effect sizes
  are invented; real laboratories, devices, report styles and imaging differ. Probabilities are
  uncalibrated outside the synthetic cohort. Missing modalities are assumed missing at random,
  which is not true in hospitals.

## Development details and input features

- Inputs: {inputs_text}
- Training data: {training_text}
- Exclusions: none (every synthetic patient is used; patients without a modality contribute
  only to the models that tolerate its absence).
- Demographic variables ({'(b)(11)(iv)(A)(5)–(13)'}): {demographics} Race, ethnicity, language,
  sexual orientation, gender identity and social determinants of health are not used and not
  generated.
- Demographic representativeness: ages and sex are drawn by the synthetic generator named under
  training data (roughly 50/50 sex, adult ages); the cohort represents no real population.
{feature_lines}
## Process used to ensure fairness in development

Performance is reported per sex and per age band on the held-out synthetic split (below). No
mitigation beyond reporting is applied because the data are synthetic; any subgroup difference
reflects the generator's assumptions, not real populations.

## External validation process

None. There is no external or real-world validation; validation is on a held-out synthetic
split generated with a different seed by the same generator.

## Quantitative measures of performance

{METRICS_START}
Not evaluated yet: run `npm run models:evaluate`.
{METRICS_END}

## Ongoing maintenance of intervention implementation and use

Re-created from scratch by `models/training/build-all.sh` and re-evaluated by `npm run
models:evaluate` whenever the cohort generator, preprocessing or recipe changes; the manifest's
sha256 values pin each file. A new version folder is added for any change in weights.
"""
