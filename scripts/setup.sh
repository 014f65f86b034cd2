#!/usr/bin/env bash
# Install splatlab into ./.venv on a Debian machine.
#   scripts/setup.sh          the library with the notebook, preview and fast (numba) extras
#   scripts/setup.sh --test   and the test tools
# System libraries open3d 0.20 needs are installed with apt when missing; with --test also
# Debian's chromium, which tests/test_browser.py drives through Playwright.
# torch: kept if already importable; else a CUDA build where nvidia-smi works, else the
# CPU build torch==2.13.0 (override with SPLATLAB_TORCH="torch==X" or any pip spec).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="[notebook,preview,fast]"
[ "${1:-}" = "--test" ] && extras="[notebook,preview,fast,test]"

missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib libusb-1.0.so.0 || missing+=(libusb-1.0-0)
have_lib libvulkan.so.1 || missing+=(libvulkan1)
have_lib libEGL.so.1 || missing+=(libegl1)
have_lib libGL.so.1 || missing+=(libgl1)
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
if [ -n "$extras" ] && [ ! -x /usr/bin/chromium ]; then
    missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing system libraries: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
py=.venv/bin/python
if ! $py -c "import torch" 2>/dev/null; then
    if [ -n "${SPLATLAB_TORCH:-}" ]; then spec="$SPLATLAB_TORCH"
    elif command -v nvidia-smi >/dev/null && nvidia-smi >/dev/null 2>&1; then spec="torch"
    else spec="torch==2.13.0"
    fi
    echo "setup: installing $spec"
    $py -m pip install -q "$spec"
fi
$py -m pip install -q -e ".${extras}"
# JupyterLab in this environment: open3d pulls in dash, which ships a JupyterLab 3 source
# extension; without this, every page load of `jupyter lab` opens a "Build Recommended" dialog.
$py - <<'PY'
import json, sys
from pathlib import Path
path = Path(sys.prefix, "etc", "jupyter", "labconfig", "page_config.json")
config = json.loads(path.read_text()) if path.exists() else {}
config.update(buildCheck=False, buildAvailable=False)
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(config, indent=1))
PY
echo "setup: done ($($py -c 'import splatlab, torch; print("splatlab", splatlab.__version__, "torch", torch.__version__)'))"
