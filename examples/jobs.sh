#!/usr/bin/env bash
# Example jobs: a DARTS search followed by the retraining of the cell it found.
#
# Usage (from the repository root, with the package installed, e.g. by `make venv`):
#
#   examples/jobs.sh quickstart          # digits, CPU, a few minutes (= `make run`)
#   examples/jobs.sh quickstart-cudnn    # the same on GPU 0
#   examples/jobs.sh cifar10             # DARTS paper settings on CIFAR-10, CPU (very slow)
#   examples/jobs.sh cifar10-cudnn       # the same on GPU 0
#   examples/jobs.sh list                # print the job names
#
# Environment:
#   PYTHON  interpreter to use (default: .venv/bin/python if present, else python)
#   DEVICE  GPU index for the -cudnn jobs (default: 0)
#
# The -cudnn jobs need the CUDA extension: pip install nnabla-ext-cuda120.
# CIFAR-10 is downloaded on first use to $NNABLA_NAS_DATA (default ~/.cache/nnabla_nas).
#
# Every command writes into its own -o folder and, run again with the same config,
# resumes from its last checkpoint (each epoch's end, or the step where Ctrl-C
# stopped it): an interrupted job is continued by running the same job again. A
# finished search is not repeated; a finished training only re-reports its test.
# The CIFAR-10 retraining reads the genotype the CIFAR-10 search writes.
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
DEVICE="${DEVICE:-0}"

run() {
    echo "+ $PYTHON main.py $*" >&2
    "$PYTHON" main.py "$@"
}

# Digits (bundled with scikit-learn, no download): search, then retrain and test.
# The retrain config reads the genotype from log/quickstart/search/arch.json.
quickstart() {
    run -a DartsSearcher -f examples/quickstart/digits_search.json -o log/quickstart/search "$@"
    run -a Trainer -f examples/quickstart/digits_train.json -o log/quickstart/train "$@"
}

# CIFAR-10 with the DARTS paper's settings: 50 search epochs (8 cells, 16 channels),
# then 600 epochs of the 20-cell, 36-channel network with cutout, drop path and the
# auxiliary head. The retrain config reads
# log/classification/darts/cifar10/search/arch.json.
cifar10() {
    local out=log/classification/darts/cifar10
    run -a DartsSearcher -f examples/classification/darts/cifar10_search.json -o "$out/search" "$@"
    run -a Trainer -f examples/classification/darts/cifar10_train.json -o "$out/train" "$@"
}

JOBS="quickstart quickstart-cudnn cifar10 cifar10-cudnn"

case "${1:-}" in
    quickstart)        quickstart -c cpu ;;
    quickstart-cudnn)  quickstart -c cudnn -d "$DEVICE" ;;
    cifar10)           cifar10 -c cpu ;;
    cifar10-cudnn)     cifar10 -c cudnn -d "$DEVICE" ;;
    list)              echo "$JOBS" | tr ' ' '\n' ;;
    *)
        echo "usage: $0 {${JOBS// /|}|list}" >&2
        exit 2 ;;
esac
