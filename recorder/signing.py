"""The box's Ed25519 key and the signed chain heads kept apart from the archive.

The hash chain in `index.jsonl` shows a segment removed or replaced, but someone who rewrites the
segments *and* the whole index can rebuild a consistent chain. So the box periodically signs the
index as it stands (its length and SHA-256, which fix every camera's chain head) with a key that
never leaves the data directory (mode 0600), and keeps the signatures outside the archive
(`$CUSTODYWATCH_DATA/signatures/<archive id>.jsonl`): a rewritten index no longer matches what the
box signed, and cannot be re-signed. The verifier checks signatures against a public key it is
given.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from custodywatch import paths
from custodywatch.recorder.index import ArchiveIndex, canonical_json

PRIVATE_NAME = "box_ed25519.pem"
PUBLIC_NAME = "box_ed25519.pub.pem"


class KeyFileError(Exception):
    """A key file that is missing, unreadable or not an Ed25519 key (the message names it)."""


def keys_dir() -> Path:
    return paths.data_dir() / "keys"


def signatures_dir() -> Path:
    return paths.data_dir() / "signatures"


def heads_path(archive_id: str) -> Path:
    return signatures_dir() / f"{archive_id}.jsonl"


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def load_or_create_key(directory: Path | None = None) -> Ed25519PrivateKey:
    """The box's signing key, generated on first use (install) with file mode 0600."""
    directory = directory or keys_dir()
    private = directory / PRIVATE_NAME
    if private.exists():
        try:
            key = serialization.load_pem_private_key(private.read_bytes(), password=None)
        except (ValueError, TypeError, OSError) as exc:
            raise KeyFileError(f"{private}: not a readable private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{private}: not an Ed25519 key")
        return key
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    (directory / PUBLIC_NAME).write_bytes(public_pem(key.public_key()))
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise KeyFileError(f"{path}: public key file not found") from None
    except (ValueError, TypeError, OSError) as exc:
        raise KeyFileError(f"{path}: not a readable public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 public key")
    return key


def sign(key: Ed25519PrivateKey, body: dict[str, object]) -> str:
    return base64.b64encode(key.sign(canonical_json(body))).decode()


def signature_ok(key: Ed25519PublicKey, body: dict[str, object], signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), canonical_json(body))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SignedHeads:
    """One signature over the index as it was: its first `index_bytes` bytes hash to `index_sha256`.

    That fixes every camera's chain head at that moment (and everything before it) in about 300
    bytes, however many cameras the box records.
    """

    archive_id: str
    at: float
    index_bytes: int
    index_sha256: str
    key: str  # fingerprint of the signing key
    signature: str

    def body(self) -> dict[str, object]:
        return {"archive_id": self.archive_id, "at": self.at, "key": self.key,
                "index_bytes": self.index_bytes, "index_sha256": self.index_sha256}

    def to_json(self) -> str:
        return json.dumps({**self.body(), "signature": self.signature}, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> SignedHeads:
        d = json.loads(line)
        return cls(str(d["archive_id"]), float(d["at"]), int(d["index_bytes"]), str(d["index_sha256"]),
                   str(d["key"]), str(d["signature"]))


def read_heads(path: Path) -> Iterator[SignedHeads | str]:
    """Each signed line, or the raw line when it cannot be parsed."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                yield SignedHeads.from_json(line)
            except (ValueError, KeyError, TypeError):
                yield line.strip()


class ChainSigner:
    """Signs the index (hence every camera's chain head) when it grew; appends to the heads file.

    The hash of the index is kept running: each signing reads only the lines added since the last.
    """

    def __init__(self, index: ArchiveIndex, key: Ed25519PrivateKey, path: Path | None = None):
        self.index = index
        self.key = key
        self.path = path or heads_path(index.id)
        self.fingerprint = fingerprint(key.public_key())
        self._digest = hashlib.sha256()
        self._hashed = 0  # bytes of the index in _digest (whole lines only)
        self._signed = -1

    def _catch_up(self) -> None:
        if not self.index.path.exists():
            return
        with self.index.path.open("rb") as f:
            f.seek(self._hashed)
            pending = b""
            while chunk := f.read(1 << 20):
                data = pending + chunk
                whole = data.rfind(b"\n") + 1  # a line still being written is signed next time
                self._digest.update(data[:whole])
                self._hashed += whole
                pending = data[whole:]

    def sign_now(self, at: float | None = None) -> SignedHeads | None:
        self._catch_up()
        if self._hashed == 0 or self._hashed == self._signed:
            return None
        body = SignedHeads(self.index.id, at if at is not None else time.time(), self._hashed,
                           self._digest.hexdigest(), self.fingerprint, "")
        signed = SignedHeads(body.archive_id, body.at, body.index_bytes, body.index_sha256, body.key,
                             sign(self.key, body.body()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(signed.to_json() + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._signed = self._hashed
        return signed
