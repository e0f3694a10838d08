"""The optional `mqtt:` section: off when absent, every mistake named by key and line, the password
never shown, and a TLS file that is missing or not a certificate stops the box with exit 2."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from custodywatch.config import ConfigError, parse_config

BASE = textwrap.dedent("""\
    site: {id: zh-center, box_id: box1}
    rooms:
      - {id: corridor-1, type: corridor}
    cameras:
      - {id: cam-c1, room: corridor-1, detect_url: corridor.mp4}
    """)


def with_mqtt(section: str) -> str:
    return BASE + "mqtt:\n" + textwrap.indent(textwrap.dedent(section), "  ")


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cameras.yaml")
    return [(p.line, p.path, p.message) for p in caught.value.problems]


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "custodywatch.cli", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "CUSTODYWATCH_DATA": str(data_dir / "data")})


def test_no_section_means_mqtt_off_and_a_minimal_one_gets_the_defaults() -> None:
    assert parse_config(BASE).mqtt is None
    mqtt = parse_config(with_mqtt("host: broker.local\n")).mqtt
    assert mqtt is not None
    assert (mqtt.port, mqtt.topic_prefix, mqtt.qos, mqtt.tls, mqtt.client_id) == (
        1883, "custodywatch", 1, None, None)


def test_the_password_is_kept_but_never_shown() -> None:
    cfg = parse_config(with_mqtt("host: broker.local\nusername: alarm\npassword: s3cret-pw\n"))
    assert cfg.mqtt is not None and cfg.mqtt.password is not None
    assert cfg.mqtt.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(cfg) and "s3cret-pw" not in cfg.model_dump_json()


@pytest.mark.parametrize(("section", "expected"), [
    ("host: b\ntls: {ca_file: /no/such/ca.pem}\n",
     (8, "mqtt.tls.ca_file", "file not found: /no/such/ca.pem")),
    ("host: b\ntls: {key_file: /etc/hostname}\n",
     (8, "mqtt.tls", "key_file needs cert_file (the client certificate it belongs to)")),
    ("host: b\ntopic_prefix: alarms/#\n",
     (8, "mqtt.topic_prefix", "'alarms/#' is not a usable topic prefix (no leading or trailing '/', "
                              "no wildcards '+' or '#')")),
    ("host: b\nqos: 3\n", (8, "mqtt.qos", "Input should be 0, 1 or 2")),
    ("host: b\nretain: true\n", (8, "mqtt.retain", "unknown key")),
    ("port: 1883\n", (6, "mqtt.host", "required key is missing")),
])
def test_a_mistake_in_the_section_is_named_by_key_and_line(
    section: str, expected: tuple[int, str, str]
) -> None:
    assert problems(with_mqtt(section)) == [expected]


def test_a_camera_named_like_the_box_is_refused_because_their_status_topics_collide() -> None:
    text = with_mqtt("host: b\n").replace("id: cam-c1", "id: box1")
    assert problems(text) == [(5, "cameras[0].id", "camera id 'box1' is the box id (site.box_id): "
                                                   "their MQTT status topics would be the same")]
    assert parse_config(BASE.replace("id: cam-c1", "id: box1")).mqtt is None  # no MQTT: no collision


def test_check_config_names_a_missing_tls_file_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "cameras.yaml"
    config.write_text(with_mqtt(f"host: b\ntls:\n  ca_file: {tmp_path / 'ca.pem'}\n"))
    result = run_cli(tmp_path, "check-config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{config}:9: mqtt.tls.ca_file: file not found: {tmp_path / 'ca.pem'}"


def test_run_stops_with_exit_2_when_a_tls_file_is_not_a_certificate(tmp_path: Path) -> None:
    not_a_cert = tmp_path / "ca.pem"
    not_a_cert.write_text("this is not a certificate\n")
    config = tmp_path / "cameras.yaml"
    config.write_text(with_mqtt(f"host: b\ntls: {{ca_file: {not_a_cert}}}\n"))
    assert run_cli(tmp_path, "check-config", str(config)).returncode == 0  # only loading it can tell
    result = run_cli(tmp_path, "run", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith("custodywatch: mqtt.tls: cannot load the certificate files:")
    assert not (tmp_path / "data").exists(), "it stopped before touching the data directory"
