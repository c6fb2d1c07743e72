#!/usr/bin/env bash
# The project's test command: installs what is missing, checks formatting and lints
# (native and wasm32), then runs every test: kernels against their CPU references and
# the engine on lavapipe without a GPU, data-parallel training on two MPI ranks, then
# in headless Chromium on WebGPU the same kernel tests compiled to wasm and the
# browser page end to end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --mpi
bash scripts/install-web-deps.sh
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# Tests compare runs bit for bit and against fixed plans: tuned plans, which depend
# on timing, stay off unless asked for (the tests that tune ask for it themselves).
export DUEL_TUNE="${DUEL_TUNE:-off}"

cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
cargo clippy -p duel-web --target wasm32-unknown-unknown --all-targets -- -D warnings

# The page's wasm package and data, which the browser test (tests/web) serves.
bash scripts/web.sh --build-only
cargo test

# Data-parallel training over MPI (the `mpi` feature): two ranks under mpirun on
# loopback, both on lavapipe. The example the tests launch is built with the feature
# first, since `cargo test --test` builds no examples. One test at a time: each job's
# two ranks fill a 2-core machine, and the tests that bound how fast every rank ends
# failed on a slower machine while the single-process runs of other tests shared it.
cargo clippy --features mpi --all-targets -- -D warnings
cargo build --features mpi --example mnist_dcgan
cargo test --features mpi --test engine -- data_parallel --test-threads=1

# The kernel tests in the browser: wasm-bindgen-test-runner drives Chromium through
# chromedriver with web/webdriver.json's flags.
cd web
CHROMEDRIVER="$(command -v chromedriver)" WASM_BINDGEN_TEST_TIMEOUT=2400 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target wasm32-unknown-unknown --release --test kernels
