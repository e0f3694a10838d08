#!/usr/bin/env bash
# Runs mypy --strict over the whole custodywatch package.
#
# The package is spread over top-level folders (pyproject's package-dir) and the
# editable install maps them with an import hook that mypy cannot follow, so this
# builds a throwaway tree of symlinks under build/typecheck/ that has the installed
# layout, checks it there, and reports paths as they are in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# custodywatch.<name> lives in the top-level folder <name> (see [tool.setuptools] package-dir).
SUBPACKAGES="pipeline models rules recorder api"

farm=build/typecheck
rm -rf "$farm/custodywatch"  # the links only: mypy's cache beside them is kept
mkdir -p "$farm/custodywatch"
for entry in custodywatch/*; do
    name="$(basename "$entry")"
    [ "$name" = __pycache__ ] && continue
    ln -s "$root/$entry" "$farm/custodywatch/$name"
done
for sub in $SUBPACKAGES; do
    ln -s "$root/$sub" "$farm/custodywatch/$sub"
done

# mypy prints paths relative to the farm: map custodywatch/<sub>/... back to <sub>/...
map_paths="s#^custodywatch/(${SUBPACKAGES// /|})/#\\1/#"
rc=0
(cd "$farm" && "$root/.venv/bin/python" -m mypy --config-file "$root/pyproject.toml" \
    --cache-dir .mypy_cache --strict -p custodywatch "$@") 2>&1 | sed -E "$map_paths" || rc=$?
exit "$rc"
