"""Model Monitor and Clarify image URIs, resolved offline from the SDK's registry table."""

from __future__ import annotations

import pytest

from cdk_constructs.monitoring.images import (
    IMAGE_KINDS,
    MONITOR_TYPES,
    MonitorImageError,
    image_kind_for,
    image_uri_by_region,
    monitor_image_uri,
    sdk_image_table,
)
from config.model import Monitoring

# AWS-owned registry accounts as published in the SageMaker docs ("Docker Registry Paths").
KNOWN_URIS = {
    ("model-monitor", "eu-west-1"): (
        "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    ),
    ("model-monitor", "us-east-1"): (
        "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    ),
    ("clarify", "eu-west-1"): (
        "131013547314.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-clarify-processing:1.0"
    ),
    ("clarify", "us-east-1"): (
        "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"
    ),
}


@pytest.mark.parametrize(("kind", "region"), sorted(KNOWN_URIS))
def test_known_image_uris(kind: str, region: str) -> None:
    assert monitor_image_uri(kind, region) == KNOWN_URIS[(kind, region)]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_region_map_covers_every_known_region(kind: str) -> None:
    by_region = image_uri_by_region(kind)  # type: ignore[arg-type]

    assert len(by_region) > 20
    assert "eu-west-1" in by_region
    assert list(by_region) == sorted(by_region)
    assert by_region["eu-west-1"] == monitor_image_uri(kind, "eu-west-1")  # type: ignore[arg-type]
    # China uses its own domain: the URIs come from the SDK, not from a template here.
    assert by_region["cn-north-1"].split("/")[0].endswith(".amazonaws.com.cn")


def test_region_map_is_a_fresh_copy() -> None:
    first = image_uri_by_region("clarify")
    first["eu-west-1"] = "tampered"

    assert image_uri_by_region("clarify")["eu-west-1"] == KNOWN_URIS[("clarify", "eu-west-1")]


def test_unknown_region_lists_allowed_regions() -> None:
    with pytest.raises(MonitorImageError) as caught:
        monitor_image_uri("model-monitor", "eu-nowhere-1")

    message = str(caught.value)
    assert "'eu-nowhere-1'" in message
    assert "eu-west-1" in message
    assert "us-east-1" in message


def test_unknown_image_kind_is_rejected() -> None:
    with pytest.raises(MonitorImageError, match=r"'xgboost'.*model-monitor, clarify"):
        monitor_image_uri("xgboost", "eu-west-1")  # type: ignore[arg-type]


def test_monitor_types_map_to_images() -> None:
    assert {t: image_kind_for(t) for t in MONITOR_TYPES} == {
        "data_quality": "model-monitor",
        "model_quality": "model-monitor",
        "bias": "clarify",
        "explainability": "clarify",
    }
    with pytest.raises(MonitorImageError, match=r"'drift'.*data_quality"):
        image_kind_for("drift")  # type: ignore[arg-type]


def test_monitor_types_match_the_config_schema() -> None:
    # A monitor added to the config must get an image here too.
    assert set(MONITOR_TYPES) == set(Monitoring.model_fields)


def test_lookups_parse_botocore_endpoints_once_and_leave_botocore_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import botocore.loaders
    import botocore.session

    from cdk_constructs import botocore_data
    from cdk_constructs.monitoring import images

    originals = (botocore.loaders.create_loader, botocore.session.create_loader)
    monkeypatch.setattr(botocore_data, "_LOADERS", {})  # as in a new process
    images._image_uri.cache_clear()
    parsed: list[str] = []
    load_file = botocore.loaders.JSONFileLoader.load_file

    def counting(self: botocore.loaders.JSONFileLoader, file_path: str) -> object:
        parsed.append(file_path)
        return load_file(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", counting)
    try:
        by_region = image_uri_by_region("model-monitor")
    finally:
        images._image_uri.cache_clear()
    assert len(by_region) > 20
    # One endpoints.json parse for every region (the SDK asks for a new loader in each lookup)
    assert len([p for p in parsed if p.endswith("/endpoints")]) == 1, parsed
    assert (botocore.loaders.create_loader, botocore.session.create_loader) == originals
    assert by_region["eu-west-1"] == KNOWN_URIS[("model-monitor", "eu-west-1")]


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_the_image_table_read_by_path_is_the_sdks_own(kind: str) -> None:
    from sagemaker.core import image_uris

    assert sdk_image_table(kind) == image_uris.config_for_framework(kind)  # type: ignore[arg-type]
