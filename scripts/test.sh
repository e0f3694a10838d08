#!/usr/bin/env bash
# Sets everything up (Debian packages, venvs) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/check-services.sh
export CUSTODYWATCH_MODEL_DIR="${CUSTODYWATCH_MODEL_DIR:-$(cd .. && pwd)/shared/models}"
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
