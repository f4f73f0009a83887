#!/usr/bin/env bash
# Everything the project needs from a GPU machine, in one call of about five minutes: the CUDA
# tests (tests/test_cuda.py and the device cases of the others) and the GPU rows of
# benchmarks/README.md. Run from the repository root, e.g. through the device tool:
#     bash benchmarks/gpu_check.sh          (timeout_s 540; results land in $OUT)
# Needs python3 with a CUDA build of torch, numpy, scipy, h5py, pandas, scikit-image, pyyaml,
# matplotlib and pytest; patchmine itself is read from this checkout (no install).
set -uo pipefail
out=${OUT:-/tmp/patchmine-gpu-check}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

{
    nvidia-smi
    python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
} >"$out/machine.txt" 2>&1

step() {  # step <seconds> <log name> <command...>: run with a limit, log to $OUT, keep going
    local limit=$1 name=$2
    shift 2
    echo "== $*" | tee "$out/$name.txt"
    timeout "$limit" "$@" 2>&1 | tee -a "$out/$name.txt"
    echo "== exit ${PIPESTATUS[0]}" | tee -a "$out/$name.txt"
}

# the CUDA tests, the criteria's device cases, and the GPU claims on a machine with a real GPU
# (test_train.py's cases are CPU-only: CI runs them)
step 120 tests python3 -m pytest -q -p no:cacheprovider \
    tests/test_cuda.py tests/test_criteria.py tests/test_gpus.py
step 90 bench_train python3 benchmarks/bench_train.py --device cuda
step 60 bench_train_fp32 python3 benchmarks/bench_train.py --device cuda --amp off --channels-last off
step 60 bench_loss python3 benchmarks/bench_loss_scoring.py --device cuda --batch-size 256
step 45 bench_loss_bf16 python3 benchmarks/bench_loss_scoring.py --device cuda --batch-size 256 --dtype bf16
step 100 bench_train_compile python3 benchmarks/bench_train.py --device cuda --compile
