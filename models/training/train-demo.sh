#!/usr/bin/env bash
# Reproduces the demo bundle in models/demo from nothing but this repository:
#   1. render the synthetic catalogue (seed 1: training + 10% validation) and a hold-out
#      catalogue (seed 2: every product in the test split, never used in training or early stopping);
#   2. train the CNN + transformer from scratch (fixed seed), fit calibration and familiarity on
#      the validation split;
#   3. export ONNX (checked against PyTorch), evaluate on the hold-out into models/demo.evaluation.json.
# Usage: npm run train:demo [-- WORK_DIR]   (WORK_DIR default .data/demo-training; ~40 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-.data/demo-training}
PY=${FACET_PYTHON:-/usr/bin/python3}
TRAIN_PRODUCTS=${TRAIN_PRODUCTS:-10000}
HOLDOUT_PRODUCTS=${HOLDOUT_PRODUCTS:-2000}
mkdir -p "$WORK"

[ -f "$WORK/train/dataset.json" ] || npx tsx cli/main.ts dataset export --synthetic --seed 1 --products "$TRAIN_PRODUCTS" --val-share 0.1 --test-share 0 --out "$WORK/train"
[ -f "$WORK/holdout/dataset.json" ] || npx tsx cli/main.ts dataset export --synthetic --seed 2 --products "$HOLDOUT_PRODUCTS" --split test --out "$WORK/holdout"

export PYTHONPATH=models/training
"$PY" -m facet_train.train --data "$WORK/train" --out "$WORK/run" --backbone scratch --seed 1 --epochs 20 ${TRAIN_ARGS:-}
rm -rf models/demo
"$PY" -m facet_train.export --run "$WORK/run" --out models/demo --name facet-demo --version "${DEMO_VERSION:-1.0.0}"
"$PY" -m facet_train.evaluate --bundle models/demo --data "$WORK/holdout" --out models/demo.evaluation.json
du -sh models/demo
