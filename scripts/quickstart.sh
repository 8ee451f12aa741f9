#!/usr/bin/env bash
# One command from a fresh clone to the whole system running: set up, run the pipeline on a generated
# clip, publish it, then serve the API and the watch page (it prints the URL) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=scripts/node.sh
source scripts/node.sh
node bin/run.js demo --serve "$@"
