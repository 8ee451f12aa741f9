#!/usr/bin/env bash
# One command from a fresh clone to a packaged video: set up, then run the pipeline on a generated clip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/run.js demo "$@"
