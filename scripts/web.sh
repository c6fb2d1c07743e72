#!/usr/bin/env bash
# duel in the browser: builds the wasm package (web/pkg), puts MNIST and the FD
# classifier beside the page (web/data), and serves web/ on 127.0.0.1, printing the
# URL. MNIST is found as the native examples find it: --data-dir DIR, else
# $DUEL_DATA, else ~/.cache/duel/mnist (run scripts/train.sh once to download it).
# --bench also times the bench page's steps natively (web/data/native-bench.json),
# for web/bench.html to show beside the browser's.
#   bash scripts/web.sh [--data-dir DIR] [--port PORT] [--build-only] [--bench]
set -euo pipefail
cd "$(dirname "$0")/.."

port=8000
data_dir=""
build_only=0
bench=0
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --data-dir) data_dir="$2"; shift 2 ;;
        --build-only) build_only=1; shift ;;
        --bench) bench=1; shift ;;
        *) echo "unknown argument $1; usage: bash scripts/web.sh [--data-dir DIR] [--port PORT] [--build-only] [--bench]" >&2; exit 2 ;;
    esac
done

bash scripts/install-web-deps.sh

cargo build -p duel-web --target wasm32-unknown-unknown --release
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
    target/wasm32-unknown-unknown/release/duel_web.wasm

# MNIST, from the first of the places the native examples look in that has it.
if [ -z "$data_dir" ]; then
    for dir in "${DUEL_DATA:-}" "${XDG_CACHE_HOME:-$HOME/.cache}/duel/mnist" ../shared/data/mnist; do
        if [ -n "$dir" ] && [ -f "$dir/train-images-idx3-ubyte.gz" ]; then
            data_dir="$dir"
            break
        fi
    done
fi
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
mkdir -p web/data/mnist
for f in $files; do
    if [ -z "$data_dir" ] || [ ! -f "$data_dir/$f.gz" ]; then
        echo "MNIST's $f.gz was not found${data_dir:+ in $data_dir}. Pass --data-dir DIR with the" \
             "four gzipped MNIST files, set DUEL_DATA=DIR, or run bash scripts/train.sh once" \
             "to download them into ~/.cache/duel/mnist." >&2
        exit 1
    fi
    cp "$data_dir/$f.gz" "web/data/mnist/$f.gz"
done
cp assets/mnist_classifier.safetensors web/data/
if [ "$bench" = 1 ]; then
    cargo bench --bench page_step -- --json web/data/native-bench.json
fi
echo "wasm package: $(du -h web/pkg/duel_web_bg.wasm | cut -f1) (web/pkg/duel_web_bg.wasm)"

[ "$build_only" = 1 ] && exit 0
echo "open the URL below in a browser with WebGPU (Chrome or Edge 113+, Firefox 141+, Safari 26);"
echo "bench.html there times training steps"
exec python3 scripts/serve.py --root web --port "$port"
