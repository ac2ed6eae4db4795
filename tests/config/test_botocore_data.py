"""botocore's data parsed once per process (cdk_constructs/botocore_data.py)."""

from __future__ import annotations

import boto3
import botocore.loaders
import botocore.session
import pytest

from cdk_constructs import botocore_data


def test_sessions_made_inside_share_one_loader_and_outside_do_not() -> None:
    with botocore_data.shared_loaders():
        # what the SDK does: new boto3 sessions, and loaders of its own
        first = boto3.Session(region_name="eu-west-1")._session.get_component("data_loader")
        second = boto3.Session(region_name="us-east-1")._session.get_component("data_loader")
        direct = botocore.loaders.create_loader()
    assert first is second is direct is botocore_data.loader()
    outside = boto3.Session(region_name="eu-west-1")._session.get_component("data_loader")
    assert outside is not first


def test_a_shared_session_reads_what_botocore_reads() -> None:
    shared = botocore_data.session().get_service_model("sagemaker")
    plain = botocore.session.get_session().get_service_model("sagemaker")
    assert shared is not plain
    assert shared.operation_names == plain.operation_names
    request = "CreateMonitoringSchedule"
    assert (
        shared.operation_model(request).input_shape.members.keys()
        == plain.operation_model(request).input_shape.members.keys()
    )


def test_botocore_is_restored_even_when_the_body_fails() -> None:
    originals = (botocore.loaders.create_loader, botocore.session.create_loader)
    seen: list[object] = []

    def failing_sdk_call() -> None:
        with botocore_data.shared_loaders():
            seen.append(botocore.loaders.create_loader)
            raise RuntimeError("the SDK failed")

    with pytest.raises(RuntimeError, match="the SDK failed"):
        failing_sdk_call()
    assert seen == [botocore_data.loader]
    assert (botocore.loaders.create_loader, botocore.session.create_loader) == originals
