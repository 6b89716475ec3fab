"""The documents bucket through boto3: presigned POSTs for uploads, presigned GETs for reading, and
deletion of every version under a prefix.

On AWS the client talks to S3 itself, at the bucket's regional virtual-hosted address; with an
endpoint URL (moto locally, MinIO or R2 on K3S) it uses path-style addresses, which every
S3-compatible store serves. Signatures are SigV4 everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from plutomi.bootstrap import aws_client
from plutomi.config import Settings, get_settings
from plutomi.services.ports import PresignedPost, StoredObject

DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys a call
MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    @classmethod
    def of_settings(cls, settings: Settings) -> S3Storage:
        """The documents bucket, at the configured endpoint and with its own keys when set."""
        return cls.connect(settings.documents_bucket, settings.s3_endpoint_url, settings.s3_credentials)

    @classmethod
    def connect(
        cls, bucket: str, endpoint_url: str | None, credentials: tuple[str, str] | None = None
    ) -> S3Storage:
        config = Config(
            signature_version="s3v4",
            # On AWS the bucket's regional host (also in us-east-1, where boto3 would otherwise sign
            # for the global one): one origin for the pages' CSP (`plutomi.web.storage`).
            s3=(
                {"addressing_style": "path"}
                if endpoint_url
                else {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
            ),
            retries={"max_attempts": 3, "mode": "standard"},
        )
        return cls(
            aws_client("s3", config=config, endpoint_url=endpoint_url, credentials=credentials), bucket
        )

    def ensure_bucket(self) -> bool:
        """Creates the bucket unless it exists (local endpoints; on AWS the stack owns it). True when
        it was created now."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in MISSING:
                raise
        region = get_settings().aws_region
        location = (
            {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        self._client.create_bucket(Bucket=self.bucket, **location)
        return True

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: timedelta, tagging: str
    ) -> PresignedPost:
        # boto3 adds the bucket and the exact key to the policy's conditions itself.
        answer = self._client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type, "tagging": tagging},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
                {"tagging": tagging},
            ],
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return PresignedPost(url=str(answer["url"]), fields={k: str(v) for k, v in answer["fields"].items()})

    def head(self, key: str) -> StoredObject | None:
        try:
            found = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                return None
            raise
        return StoredObject(size_bytes=int(found["ContentLength"]), last_modified=found["LastModified"])

    def first_bytes(self, key: str, count: int) -> bytes:
        answer = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{count - 1}")
        body: bytes = answer["Body"].read()
        return body[:count]

    def set_tag(self, key: str, name: str, value: str) -> None:
        current = self._client.get_object_tagging(Bucket=self.bucket, Key=key).get("TagSet", [])
        kept = [tag for tag in current if tag["Key"] != name]
        self._client.put_object_tagging(
            Bucket=self.bucket, Key=key, Tagging={"TagSet": [*kept, {"Key": name, "Value": value}]}
        )

    def delete(self, key: str) -> None:
        self._delete_versions(key, exact=True)

    def delete_prefix(self, prefix: str) -> int:
        return self._delete_versions(prefix, exact=False)

    def presigned_get(self, key: str, content_type: str, disposition: str, expires_in: timedelta) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": "no-store",
            },
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return url

    def _delete_versions(self, prefix: str, exact: bool) -> int:
        """Every version and delete marker under the prefix (or of exactly that key), in batches.
        An unversioned bucket lists each object once, as version "null"."""
        deleted = 0
        batch: list[dict[str, str]] = []
        for entry in self._versions(prefix):
            if exact and entry["Key"] != prefix:
                continue
            batch.append(entry)
            if len(batch) == DELETE_BATCH:
                deleted += self._delete_batch(batch)
                batch = []
        if batch:
            deleted += self._delete_batch(batch)
        return deleted

    def _versions(self, prefix: str) -> Iterator[dict[str, str]]:
        try:
            for page in self._client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    yield {"Key": entry["Key"], "VersionId": entry["VersionId"]}
        except ClientError as error:
            # Some S3-compatible stores (R2) keep no versions and do not list them: list the objects.
            if error.response.get("Error", {}).get("Code") not in {"NotImplemented", "501"}:
                raise
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for entry in page.get("Contents", []):
                    yield {"Key": entry["Key"]}

    def _delete_batch(self, batch: list[dict[str, str]]) -> int:
        answer = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise RuntimeError(f"S3 kept {len(errors)} object(s) it was asked to delete: {first.get('Code')}")
        return len(batch)
