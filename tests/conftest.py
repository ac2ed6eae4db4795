"""Session-wide test settings: offline AWS, quiet jsii, and one synth of the default app."""

from __future__ import annotations

import fcntl
import functools
import gc
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import boto3
    from botocore.model import ServiceModel

    from config.model import Environment, GovernanceConfig, ModelConfig

# Before aws_cdk is imported anywhere: dummy credentials, a region, no built-in CFN validator
# (the end-to-end CLI test keeps one synth with it on), and no Node end-of-life banner.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
)
os.environ.setdefault("CDK_VALIDATION", "false")

REPO = Path(__file__).resolve().parents[1]
CDK = REPO / "node_modules" / ".bin" / "cdk"

#: The context the pinned CDK CLI passes the app on every synth (its ``CDK_CONTEXT_JSON``), on
#: top of cdk.json's: construct paths and asset metadata in the templates, the version-reporting
#: ``AWS::CDK::Metadata`` resource, and validation findings reported rather than thrown (the app
#: decides the exit status). An in-process ``cdk.App`` given ``cdk_context(**CLI_CONTEXT)``
#: synthesizes the templates `cdk synth` writes.
CLI_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
    "@aws-cdk/core:failSynthOnValidationErrors": False,
}

# The suite allocates millions of short-lived objects (jsii round trips, templates as dicts):
# fewer generation-0 collections, and nothing imported before the tests ran is scanned again
# (gc.freeze in pytest_collection_finish below).
gc.set_threshold(2000, 20, 100)


@functools.cache
def sagemaker_service_model() -> ServiceModel:
    """botocore's SageMaker service model, for checking requests and responses against the API's
    shapes. Read once per process through the loader the app's synth reads it with
    (``cdk_constructs.botocore_data``): a new botocore session parses the large model again,
    about a tenth of a CPU second each time."""
    from cdk_constructs import botocore_data

    return botocore_data.session().get_service_model("sagemaker")


def boto3_session(region: str) -> boto3.Session:
    """A boto3 session in ``region`` that reads botocore's files through the process's loader
    (see ``sagemaker_service_model``). moto intercepts its clients like any other."""
    import boto3

    from cdk_constructs import botocore_data

    return boto3.Session(botocore_session=botocore_data.session(), region_name=region)


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's feature flags, so tests synthesize what `cdk synth` does."""
    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
    context.update(overrides)
    return context


def edited_default_config(folder: Path, name: str, old: str, new: str) -> Path:
    """``folder/name``: the default config with its text ``old`` replaced by ``new``."""
    path = folder / name
    text = (REPO / "config" / "default.yaml").read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


@dataclass(frozen=True)
class Assembly:
    """The synthesized default app: templates by stack name and the validation report."""

    outdir: Path
    templates: dict[str, dict[str, Any]]
    report: dict[str, Any]

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {
            f"{stack}/{logical_id}": resource
            for stack, template in self.templates.items()
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == cfn_type
        }

    def environment(self, name: str) -> Assembly:
        """The stacks of the default config's environment ``name`` only (its foundation and
        models stacks), for a test about one environment's resources; ``report`` stays whole."""
        from config import load_config

        prefix = f"{load_config().organisation.prefix}-{name}-"
        templates = {s: t for s, t in self.templates.items() if s.startswith(prefix)}
        assert templates, f"the assembly has no stacks of environment {name!r}"
        return Assembly(outdir=self.outdir, templates=templates, report=self.report)


def default_config_in_one_environment(environment: str, mlflow_tracking_arn: str) -> dict[str, Any]:
    """The default config's data reduced to ``environment``, which names an MLflow target.

    A model served in that environment keeps only that deployment; one served elsewhere only
    keeps neither deployment nor batch scoring, since nothing of it is deployed here.
    """
    import copy

    import yaml

    from config import DEFAULT_CONFIG

    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(DEFAULT_CONFIG.read_text()))
    data["environments"] = [e for e in data["environments"] if e["name"] == environment]
    (chosen,) = data["environments"]
    assert mlflow_tracking_arn.split(":")[3:5] == [chosen["region"], chosen["account"]]
    chosen["mlflow_tracking_arn"] = mlflow_tracking_arn
    for model in data["models"]:
        serving = model.get("deployment", {}).get("environments")
        if serving and environment in serving:
            model["deployment"]["environments"] = {environment: serving[environment]}
        elif serving:
            model.pop("deployment")
            model.pop("batch", None)
    return data


def deployments(config: GovernanceConfig) -> list[tuple[Environment, ModelConfig]]:
    """Every model each environment serves, as that environment deploys it
    (``ModelConfig.for_environment`` with the environment's partition, region and account)."""
    served: list[tuple[Environment, ModelConfig]] = []
    for environment in config.environments:
        assert environment.partition
        assert environment.region
        assert environment.account
        for model in config.models:
            deployed = model.for_environment(
                environment,
                partition=environment.partition,
                region=environment.region,
                account=environment.account,
            )
            if deployed.deployment is not None:
                served.append((environment, deployed))
    return served


def run_cli(args: list[str], *, timeout: int) -> subprocess.CompletedProcess[str]:
    """A command of this repository's CLI (the pinned ``cdk``, ``make``) run from the repository
    as a user runs it, output captured: the test process's environment with aws-cdk-lib's
    CloudFormation validation back on (this conftest turns it off for in-process synths)."""
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    env.update(CDK_DISABLE_VERSION_CHECK="1", CDK_CLI_NOTICES="false")
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _cdk_synth(*args: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    """``cdk synth`` of this repository's app into ``outdir``, as a user runs it."""
    return run_cli(
        [str(CDK), "synth", "--quiet", "--no-notices", "-o", str(outdir), *args], timeout=600
    )


#: A template another organisation's synth left in the default synth's output folder: the
#: synth must remove it (tests/app/test_cli.py checks that it did).
LEFTOVER = "old-org-prod-models-00.template.json"


@dataclass(frozen=True)
class CliSynth:
    """``cdk synth`` of the default config, the way a user runs it (validation on)."""

    outdir: Path
    returncode: int
    stderr: str


class _DefaultSynth:
    """The session's one synth of the default config: the pinned CDK CLI's ``cdk synth`` with
    aws-cdk-lib's validation and every compliance pack on, started in a background thread as
    soon as the tests are collected. The CLI runs in processes of its own (Node and the app's
    Python), so the tests that don't read it run meanwhile.

    Under pytest-xdist every worker starts the thread and the workers share one synth through a
    file lock in the run's common temporary folder: the first to take the lock synthesizes and
    records the outcome, the others find the record and read the same folder.
    """

    def __init__(self, shared: Path) -> None:
        self.outdir = shared / "default-cdk.out"
        self._lock = shared / "default-cdk.out.lock"
        self._outcome = shared / "default-cdk.out.outcome.json"
        self._thread = threading.Thread(target=self._synthesize, name="default-cdk-synth")
        self._error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def _synthesize(self) -> None:
        try:
            with self._lock.open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                if self._outcome.exists():
                    return
                shutil.rmtree(self.outdir, ignore_errors=True)
                self.outdir.mkdir()
                (self.outdir / LEFTOVER).write_text("{}")
                if not CDK.exists():
                    outcome = {"returncode": -1, "stderr": f"{CDK} is missing: run `make setup`"}
                else:
                    done = _cdk_synth(outdir=self.outdir)
                    outcome = {"returncode": done.returncode, "stderr": done.stderr}
                partial = self._outcome.with_suffix(".partial")
                partial.write_text(json.dumps(outcome))
                partial.rename(self._outcome)
        except BaseException as error:  # re-raised in the test that waits for the synth
            self._error = error

    def result(self) -> CliSynth:
        self._thread.join()
        if self._error is not None:
            raise self._error
        outcome = json.loads(self._outcome.read_text())
        return CliSynth(self.outdir, outcome["returncode"], outcome["stderr"])


#: Modules carrying these markers run first, longest first: under ``--dist loadfile`` (and
#: pyproject's ``--no-loadscope-reorder``, which keeps this order) each goes to a worker while
#: the other worker runs the many short modules, so the two finish together instead of one
#: worker starting a minutes-long module when the other is nearly done.
_FIRST = ("scale", "slow")


def _reads_default_synth(item: pytest.Item) -> bool:
    return "default_cli_synth" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Groups: the scale test; the modules that do not read the session's `cdk synth`; those
    # that do. The last wait for the synth (about half a minute of one core, in processes of its
    # own), so they come after every module that does not and no worker idles while the CLI
    # runs. Within a group, the marked modules first.
    marker: dict[str, int] = {}
    waits: dict[str, bool] = {}
    for item in items:
        marks = {mark.name for mark in item.iter_markers()}
        module = item.nodeid.split("::", 1)[0]
        rank = next((i for i, name in enumerate(_FIRST) if name in marks), len(_FIRST))
        marker[module] = min(marker.get(module, rank), rank)
        waits[module] = waits.get(module, False) or _reads_default_synth(item)

    def group(module: str) -> tuple[int, int]:
        if marker[module] == _FIRST.index("scale"):
            return (0, 0)
        return (1 + waits[module], marker[module])

    order = {item.nodeid: index for index, item in enumerate(items)}
    items.sort(key=lambda item: (group(item.nodeid.split("::", 1)[0]), order[item.nodeid]))


def pytest_collection_finish(session: pytest.Session) -> None:
    # Everything imported so far (aws_cdk, the app, pydantic models) lives as long as the
    # process: keep it out of every later collection.
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # pytest runs a full garbage collection at exit, to report exceptions raised in finalizers
    # of objects freed then. The session's synths and templates, alive until the process ends,
    # would make it a scan of millions of objects (seconds per worker, at the very end of the
    # run): the young generation is collected, and what is older is left to the exit.
    gc.collect(0)
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def default_synth_started(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> _DefaultSynth | None:
    """Starts the default synth before this process's first test, when any collected test reads
    it (``default_cli_synth``, directly or through ``default_assembly``)."""
    if not any(_reads_default_synth(item) for item in request.session.items):
        return None
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        shared = tmp_path_factory.mktemp("default-synth")
    else:
        shared = tmp_path_factory.getbasetemp().parent
    synth = _DefaultSynth(shared)
    synth.start()
    return synth


@pytest.fixture(scope="session")
def default_cli_synth(default_synth_started: _DefaultSynth | None) -> CliSynth:
    """The session's ``cdk synth`` of the default config (see ``_DefaultSynth``), whether it
    passed or failed. Tests only read its folder."""
    assert default_synth_started is not None, "the default synth was not started"
    return default_synth_started.result()


@pytest.fixture(scope="session")
def default_assembly(default_cli_synth: CliSynth) -> Assembly:
    """The default config as `cdk synth` writes it: templates (with path metadata) and the
    validation report of every compliance pack."""
    assert default_cli_synth.returncode == 0, default_cli_synth.stderr[-3000:]
    outdir = default_cli_synth.outdir
    templates = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }
    report = json.loads((outdir / "validation-report.json").read_text())
    return Assembly(outdir=outdir, templates=templates, report=report)
