#!/usr/bin/env bash
# The shared PostgreSQL (127.0.0.1:5432) and Mosquitto (127.0.0.1:1883) must answer before the
# tests run. They are shared: this starts one only if it is not running, and never stops one.
set -uo pipefail
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
if ! answers 5432 && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
fi
if ! answers 1883 && command -v mosquitto >/dev/null; then
    mosquitto -d -c /etc/mosquitto/mosquitto.conf 2>/dev/null || true
fi
for port in 5432 1883; do
    for _ in $(seq 1 20); do answers $port && break; sleep 0.5; done
    if answers $port; then echo "services: 127.0.0.1:$port answers" >&2
    else echo "services: WARNING: nothing answers on 127.0.0.1:$port (tests that need it will fail)" >&2; fi
done
