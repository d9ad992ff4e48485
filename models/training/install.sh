#!/usr/bin/env bash
# Installs the Python side of the training recipe from Debian packages (no pip, no internet
# beyond the Debian mirror). Idempotent: skips apt-get when everything is already importable.
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "python3-torch, python3-onnx and python3-numpy already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends python3 python3-torch python3-onnx python3-numpy
"$PY" -c 'import torch, onnx, numpy; print("torch", torch.__version__, "onnx", onnx.__version__, "numpy", numpy.__version__)'
