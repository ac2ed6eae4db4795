"""Reference-data step of the governed training pipeline (runs in the scikit-learn image).

For environments on the replacement monitoring engine (Evidently reports in processing jobs):
pins the training data as the drift reference, in the layout and format of
``governance.contracts.reference_data`` (``reference.csv`` with a header row, and
``summary.json`` in format ``governance-reference/1``). The contract's constants are restated
here because the script runs in a container without this repository; a contract test checks
that they are equal.

Arguments: the model, the column names in file order (label first, as the training CSV), the
label, the column kinds (numerical, categorical, text, datetime) and the execution id.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pathlib

import pandas as pd

REFERENCE_FORMAT = "governance-reference/1"
REFERENCE_FILE = "reference.csv"
SUMMARY_FILE = "summary.json"


def snapshot(
    frame: pd.DataFrame, *, model: str, execution_id: str, label: str, kinds: list[str]
) -> tuple[bytes, dict[str, object]]:
    data = frame.to_csv(index=False).encode()
    summary = {
        "format": REFERENCE_FORMAT,
        "model": model,
        "execution_id": execution_id,
        "columns": [
            {"name": str(name), "dtype": str(frame[name].dtype), "kind": kind}
            for name, kind in zip(frame.columns, kinds, strict=True)
        ],
        "row_count": len(frame),
        "sha256": hashlib.sha256(data).hexdigest(),
        "label": label,
        "created": datetime.datetime.now(datetime.UTC).isoformat(),
    }
    return data, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--execution-id", required=True)
    parser.add_argument("--columns", required=True, help="comma-separated, in file order")
    parser.add_argument("--kinds", required=True, help="comma-separated, one per column")
    parser.add_argument("--label", required=True)
    parser.add_argument("--base", default="/opt/ml/processing")
    args = parser.parse_args()
    base = pathlib.Path(args.base)
    columns = args.columns.split(",")
    frame = pd.concat(
        pd.read_csv(path, header=None, names=columns)
        for path in sorted((base / "train").rglob("*.csv"))
    )
    data, summary = snapshot(
        frame,
        model=args.model,
        execution_id=args.execution_id,
        label=args.label,
        kinds=args.kinds.split(","),
    )
    out = base / "reference"
    out.mkdir(parents=True, exist_ok=True)
    (out / REFERENCE_FILE).write_bytes(data)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
