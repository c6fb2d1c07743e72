#!/usr/bin/env bash
# The project's test command: installs what is missing, checks formatting and lints,
# then runs every test (kernels against their CPU references, on lavapipe without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test
