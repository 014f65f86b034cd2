#!/usr/bin/env bash
# Everything this project measures on a lent CUDA machine, in one command (results in $OUT).
# Needs wheels for what that machine lacks in .whl/ (plyfile, zstandard, gsplat, nbclient and
# its kernel; numba and llvmlite where the image lacks them, llvmlite as a tar.xz of its
# stripped package) and, for the tests that read them, the shared fixtures (hamburger.ply,
# spz/) in $SPLATLAB_FIXTURES.
#   bash bench/gpu_session.sh [SCALE] [quick]     (quick: smoke run of each step)
set -uo pipefail
scale="${1:-1.0}"
out="${OUT:-gpu-out}"
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
# packages too large as wheels for the carry limit (llvmlite, for numba) come as tar.xz
for t in .whl/*.tar.xz; do [ -e "$t" ] && tar -xJf "$t" -C /tmp/site; done
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 MAX_JOBS=16 TORCH_EXTENSIONS_DIR=/tmp/tx
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
start=$(date +%s)
python3 - <<'PY' 2>&1 | tail -3
import torch, gsplat
n = torch.ones(8, 3, device="cuda")
gsplat.rasterization(torch.rand(8, 3, device="cuda") + torch.tensor([0, 0, 3.0], device="cuda"),
                     torch.tensor([[1.0, 0, 0, 0]], device="cuda").expand(8, 4),
                     n * 0.1, torch.ones(8, device="cuda"), n, torch.eye(4, device="cuda")[None],
                     torch.tensor([[[32.0, 0, 16], [0, 32, 16], [0, 0, 1]]], device="cuda"), 32, 32)
print("gsplat ready")
PY
echo "gsplat build: $(( $(date +%s) - start )) s" | tee -a "$out/gpu.txt"
if [ "${2:-}" = quick ]; then
    python3 bench/bench_gpu.py --quick 2>&1 | tee "$out/bench_gpu_quick.md"
    python3 -m pytest -q -p no:cacheprovider tests/test_render_gsplat.py tests/test_repair.py \
        tests/test_timing.py 2>&1 | tail -15
    exit 0
fi
python3 bench/bench_gpu.py --json "$out/bench_gpu.json" 2>&1 | tee "$out/bench_gpu.md"
python3 bench/bench_repair.py --device cuda 2>&1 | tee "$out/bench_repair_cuda.txt"
python3 bench/bench_render_memory.py --device cuda 2>&1 | tee "$out/render_memory.txt"
python3 -m pytest -q -p no:cacheprovider tests/test_render_gsplat.py tests/test_render.py \
    tests/test_repair.py tests/test_timing.py tests/test_stats.py tests/test_gpu_moments.py \
    tests/test_spz.py tests/test_gate.py tests/test_submittable.py 2>&1 | tee "$out/pytest_gpu.txt"
python3 bench/run_notebook.py notebooks/02_noise_fix_on_gpu.ipynb "$out/02_executed.ipynb" \
    -p "SCALE = $scale" -p "OUT = '$out/nb02'" 2>&1 | tail -5
cp "$out/nb02/key_numbers.json" "$out/nb02_key_numbers.json" 2>/dev/null
rm -rf "$out/nb02"
