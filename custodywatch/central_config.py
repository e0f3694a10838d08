"""`central.yaml`: the supervision room's server over the central PostgreSQL the boxes report into.

```yaml
database_url: postgresql://central:PASSWORD@db.district/custodywatch
api: {host: 0.0.0.0, port: 8080}
boxes:
  - {site: zh-center, box: box1, url: https://10.1.0.5:8080, username: central, password: PASSWORD}
```
`boxes` says where each box's API answers and which account of the box the centre uses to fetch
clips from it (clips stay on the boxes). Errors read `FILE:LINE: key.path: message`, as for
`cameras.yaml`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationError, model_validator

from custodywatch.config import (
    ApiConfig,
    ConfigError,
    ConfigProblem,
    Id,
    StrictModel,
    _central_database,
    read_yaml,
    validation_error,
)


def _box_url(url: str) -> str:
    if not url.startswith(("http://", "https://")) or "@" in url.split("://", 1)[1].split("/", 1)[0]:
        raise ValueError("the box's API as http(s)://host:port, without credentials "
                         "(give them as username and password)")
    return url.rstrip("/")


class BoxLink(StrictModel):
    site: Id
    box: Id
    url: Annotated[str, AfterValidator(_box_url)]
    # The centre's own account on the box (watch desk is enough to fetch clips); the box audits
    # every clip it serves under this name.
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    ca_file: str | None = None  # the box's certificate (or its CA) when it serves HTTPS self-signed
    timeout_s: float = Field(30, gt=0, le=600)


class CentralModeConfig(StrictModel):
    database_url: Annotated[str, AfterValidator(_central_database)]
    api: ApiConfig = Field(default_factory=ApiConfig)
    boxes: list[BoxLink] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_entry_per_box(self) -> CentralModeConfig:
        seen: set[tuple[str, str]] = set()
        for link in self.boxes:
            if (link.site, link.box) in seen:
                raise ValueError(f"boxes: {link.site}/{link.box} is listed twice")
            seen.add((link.site, link.box))
        return self

    def box(self, site: str, box: str) -> BoxLink | None:
        return next((b for b in self.boxes if (b.site, b.box) == (site, box)), None)


def parse_central_config(text: str, filename: str = "<central config>") -> CentralModeConfig:
    data, lines = read_yaml(text, filename)
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(filename, 1, "(top)", "the config must be a mapping of sections")])
    try:
        return CentralModeConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, filename, lines) from None


def load_central_config(path: str | Path) -> CentralModeConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), 0, "(file)", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(path), 0, "(file)", f"cannot read: {exc}")]) from None
    return parse_central_config(text, str(path))
