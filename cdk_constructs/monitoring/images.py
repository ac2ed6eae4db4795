"""Container images of the Model Monitor and Clarify jobs, resolved offline at synth time.

The images live in a different AWS-owned ECR registry in every region (and under a different
domain in the China and ISO partitions), so they are never hard-coded: the ``sagemaker`` SDK ships
the registry table and resolves it without network access. The SDK takes seconds to import and is
far too large for a Lambda, so it is imported lazily here and nowhere in ``lambda/``.

Data-quality and model-quality monitors run the ``model-monitor`` analyzer image; bias and
explainability monitors run the ``clarify`` image.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

from cdk_constructs import botocore_data

ImageKind = Literal["model-monitor", "clarify"]
"""The SDK's framework name of a monitoring image."""

MonitorType = Literal["data_quality", "model_quality", "bias", "explainability"]
"""The four monitors; the names match the fields of ``config.model.Monitoring``."""

IMAGE_KINDS: tuple[ImageKind, ...] = get_args(ImageKind)
MONITOR_TYPES: tuple[MonitorType, ...] = get_args(MonitorType)

IMAGE_KIND_BY_MONITOR_TYPE: Mapping[MonitorType, ImageKind] = MappingProxyType(
    {
        "data_quality": "model-monitor",
        "model_quality": "model-monitor",
        "bias": "clarify",
        "explainability": "clarify",
    }
)


class MonitorImageError(ValueError):
    """An image kind, monitor type or region that no monitoring image exists for."""


def image_kind_for(monitor_type: MonitorType) -> ImageKind:
    """The image a monitor of this type runs: ``model-monitor`` or ``clarify``."""
    try:
        return IMAGE_KIND_BY_MONITOR_TYPE[monitor_type]
    except KeyError:
        raise MonitorImageError(
            f"unknown monitor type {monitor_type!r}; allowed: {', '.join(MONITOR_TYPES)}"
        ) from None


def monitor_image_uri(kind: ImageKind, region: str) -> str:
    """The ECR image URI of ``kind`` in ``region``, e.g. for an environment-bound stack.

    Raises MonitorImageError naming the allowed regions when the SDK knows no image there.
    """
    regions = _regions(kind)
    if region not in regions:
        raise MonitorImageError(
            f"no {kind!r} image is known for region {region!r} (sagemaker SDK "
            f"{_sdk_version()}); allowed: {', '.join(regions)}"
        )
    return _image_uri(kind, region)


def image_uri_by_region(kind: ImageKind) -> dict[str, str]:
    """Region -> image URI for every region the SDK knows ``kind`` in, sorted by region.

    Meant for a CloudFormation Mapping in a region-agnostic stack. Returns a fresh dict each call
    so the cached table cannot be changed by a caller.
    """
    return {region: _image_uri(kind, region) for region in _regions(kind)}


def image_regions(kind: ImageKind) -> tuple[str, ...]:
    """Every region the SDK's bundled table has a ``kind`` image for, sorted.

    The one list of usable regions: config validates environments against it.
    """
    return _regions(kind)


def _check_kind(kind: str) -> None:
    if kind not in IMAGE_KINDS:
        raise MonitorImageError(
            f"unknown monitoring image kind {kind!r}; allowed: {', '.join(IMAGE_KINDS)}"
        )


@cache
def _regions(kind: ImageKind) -> tuple[str, ...]:
    """Every region that has a registry for ``kind`` in the SDK's bundled image table."""
    _check_kind(kind)
    return tuple(sorted(set(_registry_regions(sdk_image_table(kind)))))


def sdk_image_table(kind: ImageKind) -> Any:
    """The SDK's bundled image table of ``kind``: the file ``image_uris.config_for_framework``
    reads (``sagemaker/core/image_uri_config/<kind>.json`` of the pinned sagemaker-core), read
    by path. Importing ``sagemaker.core`` runs its package ``__init__`` (about 2.5 CPU s, most
    of a config load); a config is validated against these regions whether or not anything is
    built, so a refused config fails without it."""
    spec = importlib.util.find_spec("sagemaker.core")  # imports the namespace package only
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - pinned
        raise MonitorImageError("the sagemaker SDK (sagemaker-core) is not installed")
    table = Path(spec.submodule_search_locations[0]) / "image_uri_config" / f"{kind}.json"
    return json.loads(table.read_text())


def _registry_regions(node: Any) -> Iterator[str]:
    # The table nests scopes and versions differently per framework; the region -> account
    # tables are always under a "registries" key.
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "registries" and isinstance(value, dict):
                yield from value
            else:
                yield from _registry_regions(value)


@cache
def _image_uri(kind: ImageKind, region: str) -> str:
    from sagemaker.core import image_uris

    # ``retrieve`` builds a resolver from botocore's endpoints.json on every call (about 0.25 s
    # of JSON parsing; 70 calls for a region-agnostic stack's two image mappings): the file is
    # parsed once per process (cdk_constructs/botocore_data.py).
    with botocore_data.shared_loaders():
        return str(image_uris.retrieve(kind, region=region))


def _sdk_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sagemaker")
    except PackageNotFoundError:  # pragma: no cover - the SDK is a pinned dependency
        return "unknown"
