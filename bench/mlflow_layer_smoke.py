"""Does the MLflow relay run on its layer alone? (needs PyPI; not part of the offline suite)

Builds the relay's layer from ``layers/mlflow-relay.lock`` for *this* CPython (the deployed
layer targets Lambda's python3.14; the pure-Python set is the same, only binary wheel tags
differ), then runs ``governance.mlflow_relay`` in an isolated interpreter whose only
third-party packages are the layer's, on the test event, twice, against a local MLflow file
store: the first delivery must log the run, the second must find it. Prints both results and
where mlflow and the sagemaker-mlflow ``arn`` tracking store were loaded from.

    .venv/bin/python bench/mlflow_layer_smoke.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVENT = REPO / "tests" / "events" / "s3" / "mlflow_run_record_created.json"

_CHILD = """
import json, os, sys, tempfile
layer, lambda_root, event_path = sys.argv[1:4]
sys.path[:0] = [layer, lambda_root]
os.environ.update(MLFLOW_ALLOW_FILE_STORE="true", MLFLOW_DISABLE_TELEMETRY="true",
                  DO_NOT_TRACK="true", POWERTOOLS_TRACE_DISABLED="true",
                  POWERTOOLS_LOG_LEVEL="WARNING", AWS_DEFAULT_REGION="eu-west-1")
import importlib.metadata as md
from governance import mlflow_relay
from governance.data_access.mlflow_runs import MlflowAppHistory
event = json.load(open(event_path))
run = event["detail"]["object"]["key"].rsplit("/", 1)[1].removesuffix(".json")
record = {"version": 1, "experiment": "churn-propensity-dev", "run_name": run,
          "timestamp_ms": 1764648000000, "step": 1764648000,
          "tags": {"governance.outcome": "Completed: no violations"},
          "params": {"problem_type": "BinaryClassification", "violations": "0"},
          "metrics": {"rows": 120.0}}
class Reader:
    def read_json(self, uri): return record
class Context:
    function_name = "relay"; memory_limit_in_mb = 512; aws_request_id = "smoke"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:555566667777:function:relay"
settings = mlflow_relay.RelaySettings.from_environment({
    "MLFLOW_TRACKING_ARN": "arn:aws:sagemaker:eu-west-1:555566667777:mlflow-app/app-1",
    "RUN_RECORDS_BUCKET": event["detail"]["bucket"]["name"]})
store = "file://" + tempfile.mkdtemp() + "/mlruns"
handler = mlflow_relay.build_handler(settings, client=lambda service: None,
                                     history=MlflowAppHistory(store), reader=Reader())
first, second = handler(event, Context()), handler(event, Context())
import mlflow
stores = {e.name: e.value for e in md.entry_points(group="mlflow.tracking_store")}
print(json.dumps({"first": first["outcome"], "second": second["outcome"],
                  "same_run": first["run_id"] == second["run_id"],
                  "mlflow": mlflow.__file__, "arn_store": stores.get("arn")}))
"""


def main() -> int:
    sys.path.insert(0, str(REPO))
    from layers.build_layer import build

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="layer-smoke-") as work:
        layer = build(
            REPO / "layers" / "mlflow-relay.lock", Path(work) / "layer.zip", python_version=version
        )
        with zipfile.ZipFile(layer) as archive:
            archive.extractall(work)
        # -I -S: no site-packages, no environment; the layer is the only third-party code
        result = subprocess.run(
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                _CHILD,
                str(Path(work) / "python"),
                str(REPO / "lambda"),
                str(EVENT),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    lines = [line for line in result.stdout.splitlines() if line.startswith('{"first"')]
    if result.returncode != 0 or not lines:
        print(result.stdout, result.stderr, sep="\n")
        return 1
    outcome = json.loads(lines[-1])
    print(json.dumps(outcome, indent=2))
    ok = outcome["first"] == "logged" and outcome["second"] == "already-logged"
    return 0 if ok and outcome["same_run"] else 1


if __name__ == "__main__":
    sys.exit(main())
