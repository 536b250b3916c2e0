#!/usr/bin/env bash
# Example jobs: a search followed by the retraining of the network it found.
#
# Usage (from the repository root, with the package installed, e.g. by `make venv`):
#
#   examples/jobs.sh quickstart                # digits, CPU, a few minutes (= `make run`)
#   examples/jobs.sh quickstart-cudnn          # the same on GPU 0
#   examples/jobs.sh quickstart-pnas[-cudnn]   # ProxylessNAS on digits (= `make run-pnas`)
#   examples/jobs.sh cifar10                   # DARTS paper settings on CIFAR-10, CPU (very slow)
#   examples/jobs.sh cifar10-cudnn             # the same on GPU 0
#   examples/jobs.sh quickstart-pc-darts[-cudnn]  # PC-DARTS (partial channels) on digits
#   examples/jobs.sh cifar10-pc-darts[-cudnn]     # PC-DARTS paper settings on CIFAR-10: search
#   examples/jobs.sh pnas-cifar10[-cudnn]      # ProxylessNAS, DARTS cells, CIFAR-10: search, retrain
#   examples/jobs.sh pnas-cifar10-latency[-cudnn]       # the search under a latency budget
#   examples/jobs.sh mobilenet-cifar10[-cudnn]          # MobileNetV2 blocks: search, retrain,
#                                                       # and the plain MobileNetV2 for comparison
#   examples/jobs.sh mobilenet-cifar10-latency[-cudnn]  # the search under a latency budget
#   examples/jobs.sh mobilenet-imagenet[-cudnn]         # the same three on ImageNet
#   examples/jobs.sh mobilenet-imagenet-latency[-cudnn]
#   examples/jobs.sh list                      # print the job names
#
# Environment:
#   PYTHON  interpreter to use (default: .venv/bin/python if present, else python)
#   DEVICE  GPU index for the -cudnn jobs (default: 0)
#
# The -cudnn jobs need the CUDA extension: pip install nnabla-ext-cuda120.
# CIFAR-10 is downloaded on first use to $NNABLA_NAS_DATA (default ~/.cache/nnabla_nas).
# ImageNet is not downloaded: the mobilenet-imagenet jobs read class folders of images from
# data/imagenet/train and data/imagenet/val (edit the dataloader section of the configs in
# examples/classification/mobilenet/ to read them from elsewhere).
#
# Every command writes into its own -o folder and, run again with the same config,
# resumes from its last checkpoint (each epoch's end, or the step where Ctrl-C
# stopped it): an interrupted job is continued by running the same job again. A
# finished search is not repeated; a finished training only re-reports its test.
# Each retraining reads the architecture its search writes (arch.json for DARTS, arch.h5
# for ProxylessNAS). The -latency jobs only search: their latency is measured on the
# device the job runs on (see docs/hardware.rst for a table measured elsewhere); to
# retrain their result, point "genotype" in a copy of the train config at
# <their -o folder>/arch.h5.
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

# PC-DARTS (partial channels K=4, edge normalization) on digits: search, then retrain.
quickstart_pc_darts() {
    run -a DartsSearcher -f examples/quickstart/digits_search_pc_darts.json -o log/quickstart/pc_darts_search "$@"
    run -a Trainer -f examples/quickstart/digits_train_pc_darts.json -o log/quickstart/pc_darts_train "$@"
}

# CIFAR-10 with the PC-DARTS paper's search settings (K=4, edge normalization, batch 256,
# 15 weight-only epochs then 35 search epochs). To retrain, point "genotype" in a copy of
# cifar10_train.json at log/classification/darts/cifar10/search_pc_darts/arch.json.
cifar10_pc_darts() {
    run -a DartsSearcher -f examples/classification/darts/cifar10_search_pc_darts.json \
        -o log/classification/darts/cifar10/search_pc_darts "$@"
}

# ProxylessNAS on digits under a memory budget, then the retraining of what it found.
quickstart_pnas() {
    run -a ProxylessNasSearcher -f examples/quickstart/digits_pnas_search.json -o log/quickstart/pnas_search "$@"
    run -a Trainer -f examples/quickstart/digits_pnas_train.json -o log/quickstart/pnas_train "$@"
}

# ProxylessNAS on CIFAR-10 with the DARTS cells (`pnas` space): 10 warmup and 50 search
# epochs of 8 cells, then the DARTS retraining recipe (20 cells, 36 channels, 600 epochs).
# The retrain config reads log/classification/pnas/cifar10/search/arch.h5.
pnas_cifar10() {
    local out=log/classification/pnas/cifar10
    run -a ProxylessNasSearcher -f examples/classification/pnas/cifar10_search.json -o "$out/search" "$@"
    run -a Trainer -f examples/classification/pnas/cifar10_train.json -o "$out/train" "$@"
}

pnas_cifar10_latency() {
    run -a ProxylessNasSearcher -f examples/classification/pnas/cifar10_search_latency.json \
        -o log/classification/pnas/cifar10/search_latency "$@"
}

# ProxylessNAS over MobileNetV2 blocks (`mobilenet` space) on $1 (cifar10 or imagenet):
# search, retrain the found network, and train the plain MobileNetV2 with the same
# settings as a reference. The retrain config reads
# log/classification/mobilenet/<dataset>/search/arch.h5.
mobilenet() {
    local dataset=$1; shift
    local cfg=examples/classification/mobilenet/$dataset out=log/classification/mobilenet/$dataset
    run -a ProxylessNasSearcher -f "${cfg}_search.json" -o "$out/search" "$@"
    run -a Trainer -f "${cfg}_train.json" -o "$out/train" "$@"
    run -a Trainer -f "${cfg}_reference.json" -o "$out/reference" "$@"
}

mobilenet_latency() {
    local dataset=$1; shift
    run -a ProxylessNasSearcher -f "examples/classification/mobilenet/${dataset}_search_latency.json" \
        -o "log/classification/mobilenet/$dataset/search_latency" "$@"
}

JOBS="quickstart quickstart-cudnn quickstart-pnas quickstart-pnas-cudnn cifar10 cifar10-cudnn \
quickstart-pc-darts quickstart-pc-darts-cudnn cifar10-pc-darts cifar10-pc-darts-cudnn \
pnas-cifar10 pnas-cifar10-cudnn pnas-cifar10-latency pnas-cifar10-latency-cudnn \
mobilenet-cifar10 mobilenet-cifar10-cudnn mobilenet-cifar10-latency mobilenet-cifar10-latency-cudnn \
mobilenet-imagenet mobilenet-imagenet-cudnn mobilenet-imagenet-latency mobilenet-imagenet-latency-cudnn"

case "${1:-}" in
    quickstart)        quickstart -c cpu ;;
    quickstart-cudnn)  quickstart -c cudnn -d "$DEVICE" ;;
    quickstart-pnas)   quickstart_pnas -c cpu ;;
    quickstart-pnas-cudnn) quickstart_pnas -c cudnn -d "$DEVICE" ;;
    cifar10)           cifar10 -c cpu ;;
    cifar10-cudnn)     cifar10 -c cudnn -d "$DEVICE" ;;
    quickstart-pc-darts)       quickstart_pc_darts -c cpu ;;
    quickstart-pc-darts-cudnn) quickstart_pc_darts -c cudnn -d "$DEVICE" ;;
    cifar10-pc-darts)          cifar10_pc_darts -c cpu ;;
    cifar10-pc-darts-cudnn)    cifar10_pc_darts -c cudnn -d "$DEVICE" ;;
    pnas-cifar10)                     pnas_cifar10 -c cpu ;;
    pnas-cifar10-cudnn)               pnas_cifar10 -c cudnn -d "$DEVICE" ;;
    pnas-cifar10-latency)             pnas_cifar10_latency -c cpu ;;
    pnas-cifar10-latency-cudnn)       pnas_cifar10_latency -c cudnn -d "$DEVICE" ;;
    mobilenet-cifar10)                mobilenet cifar10 -c cpu ;;
    mobilenet-cifar10-cudnn)          mobilenet cifar10 -c cudnn -d "$DEVICE" ;;
    mobilenet-cifar10-latency)        mobilenet_latency cifar10 -c cpu ;;
    mobilenet-cifar10-latency-cudnn)  mobilenet_latency cifar10 -c cudnn -d "$DEVICE" ;;
    mobilenet-imagenet)               mobilenet imagenet -c cpu ;;
    mobilenet-imagenet-cudnn)         mobilenet imagenet -c cudnn -d "$DEVICE" ;;
    mobilenet-imagenet-latency)       mobilenet_latency imagenet -c cpu ;;
    mobilenet-imagenet-latency-cudnn) mobilenet_latency imagenet -c cudnn -d "$DEVICE" ;;
    list)              echo "$JOBS" | tr ' ' '\n' ;;
    *)
        echo "usage: $0 {${JOBS// /|}|list}" >&2
        exit 2 ;;
esac
