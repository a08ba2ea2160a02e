#!/usr/bin/env bash
# Installs the Debian 12 packages the project builds with (only the missing ones).
# As root it runs apt-get; otherwise it names the packages to install and exits non-zero.
set -euo pipefail

packages=(
  g++ libgcc-12-dev cmake ninja-build pkg-config python3 curl git zlib1g-dev nodejs
  libfmt-dev libspdlog-dev rapidjson-dev libcurl4-openssl-dev
  libcpp-httplib-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format clang-tidy
)

# npm: Debian's package, unless the installed nodejs bundles its own npm (a nodesource build,
# which conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build dependencies are installed"
  exit 0
fi

echo "setup: missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root, or install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
