#!/usr/bin/env bash
# Installs everything custodywatch and its tests need on a fresh Debian box:
# the RTSP test server's GStreamer packages, the project venv (.venv) and the
# RTSP server's venv (.venv-rtsp, which must see Debian's python3-gi).
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the recorder tests play clips in a real browser; fonts-wqy-microhei draws the page's Chinese.
APT_PKGS="python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3-venv chromium fonts-wqy-microhei poppler-utils poppler-data"
missing=""
for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
mkdir -p build
pip_log=build/pip-install.log
if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e ".[test]"; } >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    echo "setup: installing the project into .venv failed (log above)" >&2
    exit 1
fi

if [ ! -x .venv-rtsp/bin/python ]; then
    /usr/bin/python3 -m venv --system-site-packages .venv-rtsp
fi
.venv-rtsp/bin/python -c "import av" 2>/dev/null || .venv-rtsp/bin/pip install -q av >>"$pip_log" 2>&1
.venv-rtsp/bin/python -c "import gi; gi.require_version('GstRtspServer', '1.0')"
echo "setup: ok" >&2
