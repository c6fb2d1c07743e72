#!/usr/bin/env bash
# Installs what duel needs to run on a fresh Debian or Ubuntu machine: a Vulkan loader
# and, when no Vulkan driver is present, Mesa's lavapipe (Vulkan on the CPU).
# A machine with a GPU driver already installed is left as it is.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust from https://rustup.rs, then run this again." >&2
    exit 1
fi

has_vulkan_driver() {
    ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1
}

if [ "$(uname -s)" = "Linux" ] && { ! has_vulkan_driver || ! ldconfig -p | grep -q libvulkan.so.1; }; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "No Vulkan driver found. Install your distribution's Mesa Vulkan drivers (lavapipe)." >&2
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "Installing Mesa's Vulkan drivers (lavapipe) and the Vulkan loader..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
fi

# `--mpi`: what the `mpi` feature (data-parallel training) builds on: Open MPI, and
# libclang for the bindings' generator.
if [ "${1:-}" = "--mpi" ] && ! { command -v mpirun >/dev/null 2>&1 && command -v mpicc >/dev/null 2>&1 \
        && ldconfig -p | grep -q libclang; }; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "Install Open MPI (its development files and mpirun) and libclang, then build with --features mpi." >&2
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "Installing Open MPI and libclang..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libopenmpi-dev openmpi-bin libclang-dev >/dev/null
fi
