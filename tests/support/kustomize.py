"""A tiny Kustomize, for the subset k8s/ uses, so the tests render the overlays without a kustomize
binary: `resources` (files and directories), `namespace`, `images` (newName, newTag, digest) and
`patches` (strategic merge patches from a file or inline, matched by kind and name). Anything else
is refused, so a new field in a kustomization fails here rather than being silently ignored. When
`kubectl` is installed, a test checks this renders what `kubectl kustomize` does.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}


def render(directory: Path) -> list[Manifest]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise NotImplementedError(f"{directory}: this renderer does not support {sorted(unknown)}")
    manifests: list[Manifest] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        manifests.extend(render(path) if path.is_dir() else load(path))
    for entry in kustomization.get("patches", []):
        if set(entry) - {"path", "patch"}:
            raise NotImplementedError(f"{directory}: patch fields {sorted(entry)}")
        patches = load(directory / entry["path"]) if "path" in entry else load_text(entry["patch"])
        for patch in patches:
            apply_patch(manifests, patch)
    for image in kustomization.get("images", []):
        for manifest in manifests:
            set_image(manifest, image)
    if "namespace" in kustomization:
        for manifest in manifests:
            manifest["metadata"]["namespace"] = kustomization["namespace"]
    return manifests


def load(path: Path) -> list[Manifest]:
    return load_text(path.read_text())


def load_text(text: str) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(text) if document]


def apply_patch(manifests: list[Manifest], patch: Manifest) -> None:
    targets = [
        m
        for m in manifests
        if m["kind"] == patch["kind"] and m["metadata"]["name"] == patch["metadata"]["name"]
    ]
    if len(targets) != 1:
        raise LookupError(f"a patch for {patch['kind']}/{patch['metadata']['name']} matches {len(targets)}")
    merged = merge(targets[0], patch)
    targets[0].clear()
    targets[0].update(merged)


def merge(base: Any, patch: Any) -> Any:
    """A strategic merge: maps merge key by key (null deletes), lists of named items merge by name,
    other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge(merged[key], value) if key in merged else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        merged_list = copy.deepcopy(base)
        by_name = {item["name"]: index for index, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in by_name:
                merged_list[by_name[item["name"]]] = merge(merged_list[by_name[item["name"]]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def pod_specs(manifest: Manifest) -> list[Manifest]:
    spec = manifest.get("spec") or {}
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    template = spec.get("template")
    return [template["spec"]] if template else []


def set_image(manifest: Manifest, image: dict[str, str]) -> None:
    for spec in pod_specs(manifest):
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            name = container["image"].split("@")[0]
            name = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
            if name == image["name"]:
                tag, digest = image.get("newTag"), image.get("digest")
                suffix = f"@{digest}" if digest else (f":{tag}" if tag else "")  # a digest wins
                container["image"] = image.get("newName", name) + suffix
