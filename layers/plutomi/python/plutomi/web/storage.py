"""Where the browser reaches the documents bucket: the origin pages add to their Content-Security-Policy
(`connect-src` for uploads straight to it, `frame-src` and `img-src` for previews)."""

from __future__ import annotations

from urllib.parse import urlsplit

from plutomi.config import Settings


def storage_origin(settings: Settings) -> str:
    """The origin of the links the storage adapter signs (adapters/s3_storage.py): with an endpoint
    URL (moto locally, MinIO or R2 on K3S) its path-style addresses live on that endpoint's origin; on
    AWS boto3 signs virtual-hosted addresses on the bucket's own host."""
    if settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{settings.documents_bucket}.s3.amazonaws.com"
