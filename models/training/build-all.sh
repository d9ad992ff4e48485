#!/usr/bin/env bash
# Re-creates every reference model from scratch: Python dependencies, feature export (the
# project's own cohort generator + preprocessing), training + ONNX export + golden tensors +
# manifests + cards, then evaluation (metrics into manifests and cards, ROC/calibration PNGs).
#
#   models/training/build-all.sh                 # synthetic cohort through src/preprocess (default)
#   SOURCE=interim models/training/build-all.sh  # interim tensor-space generator (no TypeScript)
#
# Deterministic given the seeds (SEED, default 20261123); about 25–40 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
SOURCE="${SOURCE:-cohort}"
SEED="${SEED:-20261123}"
models/training/install.sh
case "$SOURCE" in
  cohort)
    DATA=models/training/.data/cohort
    npx tsx models/training/export-features.ts --out "$DATA" --seed "$SEED" \
      --train "${TRAIN:-3000}" --validation "${VALIDATION:-800}" --test "${TEST:-1200}"
    ;;
  interim)
    DATA=models/training/.data/interim
    /usr/bin/python3 models/training/interim_cohort.py --out "$DATA" --seed "$SEED"
    ;;
  *)
    echo "SOURCE must be cohort or interim" >&2
    exit 2
    ;;
esac
/usr/bin/python3 models/training/train.py --data "$DATA"
npx tsx src/evaluation/evaluate-command.ts --data "$DATA"
