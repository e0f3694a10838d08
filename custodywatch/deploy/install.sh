#!/usr/bin/env bash
# Installs custodywatch on a Debian box from an offline bundle (`custodywatch bundle -o DIR`),
# using nothing but the bundle: its Debian packages, its wheels (pip --no-index) and its models.
#
# usage: sudo ./install.sh [--prefix /opt/custodywatch] [--data /var/lib/custodywatch]
#                          [--config /etc/custodywatch/cameras.yaml] [--logs /var/log/custodywatch]
#                          [--user custodywatch] [--no-debs] [--no-systemd] [--no-admin]
# Re-running it upgrades in place: the venv is rebuilt from the new wheels, the database migrated,
# and the data directory, keys and config are kept (see docs/operations.md, "Upgrade").
set -euo pipefail
BUNDLE="$(cd "$(dirname "$0")" && pwd)"
PREFIX=/opt/custodywatch DATA=/var/lib/custodywatch CONFIG=/etc/custodywatch/cameras.yaml
LOGDIR=/var/log/custodywatch SVC_USER=custodywatch DEBS=1 SYSTEMD=1 ADMIN=1
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift 2 ;;
        --data) DATA="$2"; shift 2 ;;
        --config) CONFIG="$2"; shift 2 ;;
        --logs) LOGDIR="$2"; shift 2 ;;
        --user) SVC_USER="$2"; shift 2 ;;
        --no-debs) DEBS=0; shift ;;
        --no-systemd) SYSTEMD=0; shift ;;
        --no-admin) ADMIN=0; shift ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
say() { echo "install: $*" >&2; }

# 1. The bundle is whole: every file matches the manifest's SHA-256.
PY=/usr/bin/python3
[ -x "$PY" ] || PY="$(command -v python3)"
"$PY" - "$BUNDLE" <<'PYEOF'
import hashlib, json, sys
from pathlib import Path
root = Path(sys.argv[1])
manifest = json.loads((root / "manifest.json").read_text())
bad = [f for f, digest in manifest["files"].items()
       if not (root / f).is_file() or hashlib.sha256((root / f).read_bytes()).hexdigest() != digest]
if bad:
    sys.exit("install: bundle damaged or incomplete: " + ", ".join(bad))
tag = f"{sys.version_info.major}.{sys.version_info.minor}"
if manifest["python"] != tag:
    sys.exit(f"install: the bundle is for Python {manifest['python']}, this box has {tag}")
PYEOF
say "bundle verified"

# 2. Debian packages from the bundle only. A package the box has already is left alone (whatever
#    its version: the box may hold newer security updates than the bundle).
if [ "$DEBS" = 1 ] && ls "$BUNDLE"/debs/*.deb >/dev/null 2>&1; then
    missing=()
    for deb in "$BUNDLE"/debs/*.deb; do
        pkg="$(dpkg-deb -f "$deb" Package)"
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$deb")
    done
    if [ ${#missing[@]} -gt 0 ]; then dpkg -i "${missing[@]}" >/dev/null; fi
    say "Debian packages: ${#missing[@]} installed from the bundle, the rest already present"
fi

# 3. The venv, from the bundle's wheels with no index: nothing is fetched.
mkdir -p "$PREFIX"
rm -rf "$PREFIX/venv.new"
"$PY" -m venv "$PREFIX/venv.new"
"$PREFIX/venv.new/bin/pip" install -q --no-index --find-links "$BUNDLE/wheels" custodywatch
# Swap only once the new venv is complete, keeping the previous one for a rollback.
if [ -d "$PREFIX/venv" ]; then rm -rf "$PREFIX/venv.previous"; mv "$PREFIX/venv" "$PREFIX/venv.previous"; fi
mv "$PREFIX/venv.new" "$PREFIX/venv"
# A venv's scripts name its absolute path: rebuild the entry point for the final location.
"$PREFIX/venv/bin/python" -m pip install -q --no-index --find-links "$BUNDLE/wheels" --force-reinstall \
    --no-deps custodywatch
mkdir -p "$PREFIX/docs" && cp -r "$BUNDLE"/docs/. "$PREFIX/docs/" 2>/dev/null || true
CW="$PREFIX/venv/bin/custodywatch"
say "installed $("$PREFIX/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("custodywatch"))') in $PREFIX"

# 4. Data directory, models, config, logs.
mkdir -p "$DATA/models" "$LOGDIR" "$(dirname "$CONFIG")"
cp "$BUNDLE"/models/* "$DATA/models/"
if [ ! -f "$CONFIG" ]; then
    cp "$BUNDLE/cameras.example.yaml" "$CONFIG"
    say "wrote an example config to $CONFIG: edit it, then check it with: $CW check-config --probe $CONFIG"
fi
export CUSTODYWATCH_DATA="$DATA" CUSTODYWATCH_MODEL_DIR="$DATA/models"

# 5. Keys (signing key for the archive, self-signed HTTPS certificate) and the database.
"$CW" keys init
[ -f "$DATA/tls/cert.pem" ] || "$CW" tls-cert --name "$(hostname)" --name localhost --name 127.0.0.1
"$CW" db upgrade --config "$CONFIG"
if [ "$ADMIN" = 1 ]; then
    "$PREFIX/venv/bin/python" - <<'PYEOF' && "$CW" user add admin --role admin || true
import sys
from custodywatch import paths
from custodywatch.store.accounts import AccountStore
from custodywatch.store.db import make_engine
sys.exit(0 if AccountStore(make_engine(paths.database_url())).user_count() == 0 else 1)
PYEOF
fi

# 6. The service account and the unit.
if [ "$SYSTEMD" = 1 ]; then
    id -u "$SVC_USER" >/dev/null 2>&1 || useradd --system --home-dir "$DATA" --shell /usr/sbin/nologin "$SVC_USER"
    chown -R "$SVC_USER:$SVC_USER" "$DATA" "$LOGDIR"
    # The zone editor writes the config (atomically, with a backup beside it): the folder is the service's.
    chown "$SVC_USER:$SVC_USER" "$(dirname "$CONFIG")" "$CONFIG"
    chmod 0700 "$DATA/keys"
    sed -e "s#@PREFIX@#$PREFIX#g" -e "s#@DATA@#$DATA#g" -e "s#@CONFIG@#$CONFIG#g" \
        -e "s#@CONFIGDIR@#$(dirname "$CONFIG")#g" \
        -e "s#@LOGDIR@#$LOGDIR#g" -e "s#@USER@#$SVC_USER#g" \
        "$BUNDLE/custodywatch.service" > /etc/systemd/system/custodywatch.service
    systemctl daemon-reload
    systemctl enable --now custodywatch
    say "service started: systemctl status custodywatch; logs in $LOGDIR"
fi
say "done"
