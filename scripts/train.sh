#!/usr/bin/env bash
# The main job: trains the DCGAN on MNIST with sensible defaults, writing grids,
# metrics, plots and checkpoints under out/. Extra arguments go to the example
# (try --help). Installs lavapipe first when no Vulkan driver is present.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# In this repository's own checkouts the MNIST files sit beside it in shared/.
if [ -z "${DUEL_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
    export DUEL_DATA="$PWD/../shared/data/mnist"
fi
exec cargo run --release --example mnist_dcgan -- "$@"
