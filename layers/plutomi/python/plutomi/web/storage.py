"""Where the browser talks to the documents bucket: the origin of its presigned URLs, which the
pages that upload (connect-src) or preview documents (frame-src, img-src) allow in their CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

from plutomi.config import Settings


def storage_origin(settings: Settings) -> str:
    """The scheme, host and port of the documents bucket's presigned URLs: the configured S3
    endpoint's (moto locally, MinIO or R2 on K3S: path-style URLs), else the bucket's regional
    virtual-hosted endpoint on AWS (what `S3Storage` signs for; a unit test holds the two together)."""
    if settings.s3_endpoint_url:
        endpoint = urlsplit(settings.s3_endpoint_url)
        return f"{endpoint.scheme}://{endpoint.netloc}"
    return f"https://{settings.documents_bucket}.s3.{settings.aws_region}.amazonaws.com"
