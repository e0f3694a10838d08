#!/usr/bin/env bash
# Sets everything up (Debian packages, venvs) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/check-services.sh
export CUSTODYWATCH_MODEL_DIR="${CUSTODYWATCH_MODEL_DIR:-$(cd .. && pwd)/shared/models}"
# Three workers on two cores: most tests wait on real time (streams, restarts, outages), so they
# overlap well; a file's tests stay on one worker so its module fixtures are made once.
# CUSTODYWATCH_TEST_WORKERS=0 runs everything in one process.
workers="${CUSTODYWATCH_TEST_WORKERS:-3}"
if [ "$workers" = 0 ]; then
    exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
exec .venv/bin/python -m pytest -p no:cacheprovider -n "$workers" --dist loadfile "$@"
