#!/usr/bin/env bash
# Sets everything up and starts the demo: composed scenes served as live RTSP cameras, the
# service on SQLite in ./data, the watch-desk page on http://127.0.0.1:8080/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CUSTODYWATCH_MODEL_DIR="${CUSTODYWATCH_MODEL_DIR:-$(cd .. && pwd)/shared/models}"
exec .venv/bin/custodywatch demo "$@"
