#!/usr/bin/env bash
# Sets livectl up on a fresh Debian/Ubuntu machine: system packages (FFmpeg 5+), npm dependencies, build.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# System packages the pipeline and its tests need: FFmpeg, and Chromium for the browser tests of the
# watch page (LIVECTL_SETUP_BROWSER=0 leaves it out; those tests then skip, except under CI=true).
updated=""
install_missing() {
  local flags="$1"; shift
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    if [ -z "$updated" ]; then $SUDO apt-get update -qq; updated=1; fi
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $flags "${missing[@]}" >/dev/null
  fi
}
install_missing --no-install-recommends ffmpeg
# xmllint checks live MPDs against the DASH schema (test/fixtures/dash-schema) in the tests.
install_missing --no-install-recommends libxml2-utils
# Chromium as measured in ../shared/FACTS.md: with its recommended packages.
if [ "${LIVECTL_SETUP_BROWSER:-1}" != "0" ]; then install_missing "" chromium; fi

# Node 22 or newer (24 LTS): installed into .node/ from the npm registry when the machine's is older.
# shellcheck source=scripts/node.sh
source scripts/node.sh

# ffmpeg-static is optional: its binary download fails without internet and npm skips it.
echo "setup: installing npm dependencies (Node $(node -v))"
npm ci --no-audit --no-fund --loglevel=error
# npm scripts (npm test among them) put node_modules/.bin first on PATH: a link there makes them run on
# the Node that built the native addons, even when npm itself was started by an older system Node.
if [ -x .node/bin/node ]; then ln -sf ../../.node/bin/node node_modules/.bin/node; fi
echo "setup: building"
npm run build --silent
node bin/run.js doctor
