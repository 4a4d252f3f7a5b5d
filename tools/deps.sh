#!/bin/sh
# Install the Debian packages gatecheck builds, tests and lints with.
# Idempotent: does nothing when every package is already installed.
#   tools/deps.sh          install what is missing (needs root or sudo)
#   tools/deps.sh --check  exit 1 and name what is missing, install nothing
set -eu

BUILD="make gcc pkg-config libmicrohttpd-dev libgnutls28-dev libssl-dev libcjson-dev libcurl4-openssl-dev libyaml-dev libpcre2-dev"
TOOLS="clang libclang-rt-14-dev valgrind cppcheck clang-tidy clang-format python3 python3-yaml openssl curl libxml2-utils"
PKGS="$BUILD $TOOLS"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -z "$missing" ]; then
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "missing packages:$missing" >&2
    echo "run 'make deps' (as root) to install them" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "error: need root to install:$missing" >&2
        echo "hint: run 'sudo make deps' or install them with apt-get" >&2
        exit 2
    }
    SUDO=sudo
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
