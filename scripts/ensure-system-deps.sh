#!/usr/bin/env bash
# Debian packages that tests and benchmarks use as real peers, installed when missing.
# Usage: ensure-system-deps.sh [package ...] (default: what the test suite needs).
set -euo pipefail
wanted=("$@")
missing=()
for p in "${wanted[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
