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

# Installs Debian packages "$2…" with apt, saying "$1" first; without apt, says to
# install them by hand and stops.
apt_install() {
    local what="$1"
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "No apt-get here: install $what with your distribution's packages." >&2
        exit 1
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "Installing $what..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if [ "$(uname -s)" = "Linux" ] && { ! has_vulkan_driver || ! ldconfig -p | grep -q libvulkan.so.1; }; then
    apt_install "Mesa's Vulkan drivers (lavapipe) and the Vulkan loader" mesa-vulkan-drivers libvulkan1
fi

# `--mpi`: what the `mpi` feature (data-parallel training) builds on: Open MPI, and
# libclang for the bindings' generator.
if [ "${1:-}" = "--mpi" ] && ! { command -v mpirun >/dev/null 2>&1 && command -v mpicc >/dev/null 2>&1 \
        && ldconfig -p | grep -q libclang; }; then
    apt_install "Open MPI and libclang" libopenmpi-dev openmpi-bin libclang-dev
fi
