"""This box (investigator): its site and id, and the fingerprint of the Ed25519 key it signs its
index and evidence packages with, so an investigator can check a package's key against the box."""
from __future__ import annotations

from fastapi import APIRouter

from custodywatch.api.auth import Investigator
from custodywatch.api.deps import ServicesDep
from custodywatch.api.schemas_media import BoxInfo
from custodywatch.recorder.signing import PUBLIC_NAME, KeyFileError, fingerprint, load_public_key

router = APIRouter(prefix="/api/box", tags=["box"])


@router.get("", response_model=BoxInfo)
def box_info(services: ServicesDep, _user: Investigator) -> BoxInfo:
    site = None if services.config is None else services.config.site
    fingerprint_text = pem = None
    if services.data_dir is not None:
        # The recorder makes the key at install; the API only reads its public half.
        try:
            key = load_public_key(services.data_dir / "keys" / PUBLIC_NAME)
        except KeyFileError:
            pass
        else:
            fingerprint_text = fingerprint(key)
            pem = (services.data_dir / "keys" / PUBLIC_NAME).read_text()
    return BoxInfo(site=None if site is None else site.id, box_id=None if site is None else site.box_id,
                   key_fingerprint=fingerprint_text, public_key_pem=pem)
