"""The ``analysis_config.json`` files of a model's bias and explainability monitors.

A ``ModelBiasJobDefinition`` / ``ModelExplainabilityJobDefinition`` points at this file through
its ``ConfigUri``. Model Monitor reads only a subset of the Clarify processing-job analysis
config (AWS docs: "Parameters to Monitor Bias Drift" / "Parameters to Monitor Attribution
Drift"):

* bias drift: ``headers``, ``label``, ``label_values_or_threshold``, ``facet`` and optionally
  ``group_variable``. Post-training bias metrics are what the job computes; the predicted label
  comes from the captured endpoint output, so there is no ``predictor`` section, and the
  probability threshold is ``ProbabilityThresholdAttribute`` of the job's ``EndpointInput``
  (see ``BiasSettings.endpoint_input_attributes``), not a key of this file.
* attribution drift: ``headers`` (features only: the label is not an endpoint input),
  ``methods.shap`` and ``predictor``.

The dictionaries are built by the SDK's own monitoring builders (``BiasAnalysisConfig`` and
``ExplainabilityAnalysisConfig`` over ``clarify.BiasConfig`` / ``SHAPConfig`` / ``ModelConfig``),
the same path ``ClarifyCheckStep`` takes when it uploads a monitoring config, and every result is
validated against the SDK's ``ANALYSIS_CONFIG_SCHEMA_V1_0``.

Only CSV endpoints are supported (``text/csv`` requests): JSON Lines needs JMESPath attributes
that the governance config does not describe yet.

The SDK is imported lazily: it takes seconds to import, and it must never reach Lambda code.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cdk_constructs.props import MonitoredModel

Scalar = int | float | str
BaselineRow = tuple[int | float | str | None, ...]

ANALYSIS_CONFIG_FILENAME = "analysis_config.json"

# Model Monitor sends the captured CSV request rows to Clarify as they were captured.
_CONTENT_TYPE = "text/csv"


class ClarifyConfigError(ValueError):
    """A model whose monitoring analysis config cannot be built; the message is for its author."""

    def __init__(self, *, model: str, field: str, value: object, reason: str, allowed: str) -> None:
        self.model = model
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"model {model!r}: {field} {reason} (got {value!r}); allowed: {allowed}")


EndpointAttribute = Literal[
    "inference_attribute", "probability_attribute", "probability_threshold_attribute"
]
"""Optional ``EndpointInput`` attributes of the monitoring job definitions."""

# Where each attribute's value is read from: BiasSettings, ExplainabilitySettings or the
# deployment's ``output`` section (the same field names).
_ATTRIBUTE_FIELDS: dict[EndpointAttribute, str] = {
    "inference_attribute": "inference_attribute",
    "probability_attribute": "probability_attribute",
    "probability_threshold_attribute": "probability_threshold",
}


def endpoint_input_attributes(
    source: object, names: Iterable[EndpointAttribute]
) -> dict[str, str | float]:
    """Keyword arguments of an ``EndpointInputProperty``: ``names`` that ``source`` sets."""
    values = {name: getattr(source, _ATTRIBUTE_FIELDS[name]) for name in names}
    return {name: value for name, value in values.items() if value is not None}


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BiasSettings(_Settings):
    """How the bias-drift monitor reads the endpoint; defaults suit a CSV scoring endpoint."""

    group_variable: str | None = Field(
        default=None,
        description="feature column that groups records for the conditional metric CDDPL; "
        "None = CDDPL is not computed",
    )
    probability_threshold: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="score above which a binary prediction counts as the positive label; "
        "None = Clarify's default 0.5",
    )
    inference_attribute: str | None = Field(
        default=None,
        description="index or JMESPath of the predicted label in the endpoint response; "
        "None = the response is a single score",
    )
    probability_attribute: str | None = Field(
        default=None,
        description="index or JMESPath of the probability in the endpoint response",
    )

    def endpoint_input_attributes(self) -> dict[str, str | float]:
        """Keyword arguments for ``CfnModelBiasJobDefinition.EndpointInputProperty``.

        These belong to the job input, not to the analysis config file.
        """
        return endpoint_input_attributes(self, get_args(EndpointAttribute))


class ExplainabilitySettings(_Settings):
    """Kernel SHAP parameters of the attribution-drift monitor.

    Without a ``baseline`` Clarify clusters the analysed data into ``num_clusters`` rows (its own
    default count when None) and uses them as the SHAP baseline.
    """

    baseline: str | tuple[BaselineRow, ...] | None = Field(
        default=None,
        description="S3 URI of a CSV baseline, or rows of feature values (no label) in "
        "dataset_schema.features order",
    )
    num_clusters: int | None = Field(default=None, ge=1)
    num_samples: int = Field(default=100, ge=1, description="synthetic samples per record")
    agg_method: Literal["mean_abs", "median", "mean_sq"] = "mean_abs"
    use_logit: bool = False
    # Local SHAP values are one output row per captured request: more sensitive data written on
    # every run, and not needed to detect attribution drift. Clarify's own default is True.
    save_local_shap_values: bool = False
    seed: int | None = Field(default=None, description="fixes the SHAP sampling; None = random")
    instance_type: str = Field(
        default="ml.m5.xlarge", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description="shadow endpoint"
    )
    instance_count: int = Field(default=1, ge=1, description="shadow endpoint instances")
    accept_type: Literal["text/csv", "application/jsonlines", "application/json"] = "text/csv"
    label_headers: tuple[str, ...] | None = Field(
        default=None, description="names of the scores in the model output, for the report"
    )
    inference_attribute: str | None = None
    probability_attribute: str | None = None

    @model_validator(mode="after")
    def _one_baseline_source(self) -> ExplainabilitySettings:
        if self.baseline is not None and self.num_clusters is not None:
            raise ValueError(
                "give either baseline or num_clusters, not both (num_clusters sizes the baseline "
                "Clarify computes when there is none)"
            )
        if isinstance(self.baseline, str) and not self.baseline.startswith("s3://"):
            raise ValueError(f"baseline {self.baseline!r} must be an s3:// URI or a list of rows")
        if isinstance(self.baseline, tuple) and not self.baseline:
            raise ValueError("baseline needs at least one row")
        return self

    def endpoint_input_attributes(self) -> dict[str, str | float]:
        """Keyword arguments for ``CfnModelExplainabilityJobDefinition.EndpointInputProperty``."""
        return endpoint_input_attributes(self, ("inference_attribute", "probability_attribute"))


DEFAULT_BIAS_SETTINGS = BiasSettings()
DEFAULT_EXPLAINABILITY_SETTINGS = ExplainabilitySettings()


def _bias_config(model: MonitoredModel, *, group_variable: str | None = None) -> Any:
    """The SDK's ``clarify.BiasConfig`` of the model's bias section: the facet and its value,
    the favourable label value, and the group variable if any. Both engines build it only for a
    model whose bias monitor is enabled, and such a ``MonitoredModel`` has its facet (checked
    once, by ``MonitoredModel.facet``)."""
    bias = model.facet
    from sagemaker.core import clarify

    try:
        return clarify.BiasConfig(
            label_values_or_threshold=[bias.label_value],
            facet_name=bias.facet,
            facet_values_or_threshold=[bias.facet_value],
            group_name=group_variable,
        )
    except (ValueError, TypeError) as exc:
        raise _sdk_rejected(model, "bias", dataclasses.asdict(bias), exc) from exc


def build_bias_analysis_config(
    model: MonitoredModel, *, settings: BiasSettings = DEFAULT_BIAS_SETTINGS
) -> dict[str, Any]:
    """The bias-drift analysis config of ``model``: facet, favourable label and headers.

    Headers are the dataset's features followed by its label. Raises ClarifyConfigError when the
    settings' group variable is not one of its features (a model without a bias section is
    refused by ``MonitoredModel.facet``).
    """
    # The configuration model has checked the facet, the label and their values; the settings
    # belong to the engine, so its group variable is checked here.
    dataset = model.dataset
    if settings.group_variable is not None and settings.group_variable not in dataset.feature_names:
        raise ClarifyConfigError(
            model=model.name,
            field="BiasSettings.group_variable",
            value=settings.group_variable,
            reason="is not a feature of dataset_schema",
            allowed=", ".join(dataset.feature_names),
        )

    from sagemaker.core.model_monitor import BiasAnalysisConfig

    headers = [*dataset.feature_names, dataset.label]
    bias_config = _bias_config(model, group_variable=settings.group_variable)
    config: dict[str, Any] = BiasAnalysisConfig(
        bias_config=bias_config, headers=headers, label=dataset.label
    )._to_dict()
    # The processing-job schema requires dataset_type and methods; Model Monitor supplies both
    # for a bias job (captured CSV, post-training metrics), so the file is checked as it runs.
    _validate(
        model,
        "bias",
        {
            "dataset_type": _CONTENT_TYPE,
            "methods": {"post_training_bias": {"methods": "all"}},
            **config,
        },
    )
    return config


# The bias dataset's last column, the predicted label (equal to the Evidently job's
# PREDICTED_LABEL_HEADER, tested): Clarify reads it "instead of making model inference API calls"
# (sagemaker.core.clarify.DataConfig, ``predicted_label``), so its job needs no shadow endpoint.
PREDICTED_LABEL_HEADER = "predicted_label"


def build_bias_processing_config(
    model: MonitoredModel,
    *,
    pre_training_methods: Iterable[str],
    post_training_methods: Iterable[str],
) -> dict[str, Any]:
    """The analysis config of a SageMaker Clarify processing job that measures ``model``'s bias
    on a window of its predictions joined with ground truth (the Evidently engine's bias check for
    existing Clarify customers): CSV without header whose columns are the features, the label and
    :data:`PREDICTED_LABEL_HEADER`; the policy's facet, favourable label value and, for a binary
    model, the probability threshold; the named pre- and post-training metrics. No predictor.

    Built by the SDK: ``clarify.DataConfig`` / ``BiasConfig`` / ``ModelPredictedLabelConfig``,
    combined by ``clarify._AnalysisConfigGenerator.bias``, the generator
    ``SageMakerClarifyProcessor.run_bias`` uses. It is private (the SDK has no public builder
    that does not also start the job), so it is pinned with the SDK (``sagemaker==3.27.0``) and
    its output is validated against ``ANALYSIS_CONFIG_SCHEMA_V1_0`` and tested
    (tests/monitoring_engines/test_clarify_bias.py)."""
    bias_config = _bias_config(model)
    dataset = model.dataset
    columns = [*dataset.feature_names, dataset.label]
    if PREDICTED_LABEL_HEADER in columns:
        raise ClarifyConfigError(
            model=model.name,
            field="dataset_schema",
            value=PREDICTED_LABEL_HEADER,
            reason="names a column the Clarify bias dataset adds for the predicted label",
            allowed=f"feature and label names other than {PREDICTED_LABEL_HEADER!r}",
        )
    threshold = (
        (model.output.probability_threshold or 0.5)
        if model.problem_type.value == "BinaryClassification"
        else None
    )

    from sagemaker.core import clarify

    try:
        # The S3 locations are the processor's, not part of the analysis config: the pipeline's
        # steps give the dataset and the output per run.
        data_config = clarify.DataConfig(
            s3_data_input_path="s3://bias-dataset-of-each-run",
            s3_output_path="s3://bias-analysis-of-each-run",
            label=dataset.label,
            headers=[*columns, PREDICTED_LABEL_HEADER],
            dataset_type=_CONTENT_TYPE,
            predicted_label=PREDICTED_LABEL_HEADER,
        )
        predicted = (
            clarify.ModelPredictedLabelConfig(probability_threshold=threshold)
            if threshold is not None
            else None
        )
    except (ValueError, TypeError) as exc:
        raise _sdk_rejected(model, "dataset_schema", columns, exc) from exc
    config: dict[str, Any] = clarify._AnalysisConfigGenerator.bias(
        data_config,
        bias_config,
        None,
        predicted,
        pre_training_methods=list(pre_training_methods),
        post_training_methods=list(post_training_methods),
    )
    _validate(model, "bias", config)
    return config


def build_explainability_analysis_config(
    model: MonitoredModel, *, settings: ExplainabilitySettings = DEFAULT_EXPLAINABILITY_SETTINGS
) -> dict[str, Any]:
    """The attribution-drift analysis config of ``model``: SHAP parameters, predictor, headers.

    Headers are the dataset's features only (the endpoint never receives the label). Raises
    ClarifyConfigError when an inline baseline row does not have one value per feature, or when
    the result fails the SDK's analysis-config schema.
    """
    feature_names = list(model.dataset.feature_names)
    baseline = _baseline_or_error(model, settings.baseline, feature_names)

    from sagemaker.core import clarify
    from sagemaker.core.model_monitor import ExplainabilityAnalysisConfig

    try:
        shap_config = clarify.SHAPConfig(
            baseline=baseline,
            num_samples=settings.num_samples,
            agg_method=settings.agg_method,
            use_logit=settings.use_logit,
            save_local_shap_values=settings.save_local_shap_values,
            seed=settings.seed,
            num_clusters=settings.num_clusters,
        )
        # ModelConfig insists on a model name, but the monitored endpoint comes from the job's
        # EndpointInput; the name is dropped again, as ClarifyCheckStep does for its monitoring
        # config, so a new model version does not need a new (immutable) job definition.
        model_config = clarify.ModelConfig(
            model_name=model.name,
            instance_type=settings.instance_type,
            instance_count=settings.instance_count,
            content_type=_CONTENT_TYPE,
            accept_type=settings.accept_type,
        )
    except (ValueError, TypeError) as exc:
        raise _sdk_rejected(model, "ExplainabilitySettings", settings.model_dump(), exc) from exc
    config: dict[str, Any] = ExplainabilityAnalysisConfig(
        explainability_config=shap_config,
        model_config=model_config,
        headers=feature_names,
        label_headers=list(settings.label_headers) if settings.label_headers else None,
    )._to_dict()
    config["predictor"].pop("model_name", None)
    _validate(model, "explainability", {"dataset_type": _CONTENT_TYPE, **config})
    return config


def write_analysis_config(
    config: dict[str, Any], directory: Path, *, filename: str = ANALYSIS_CONFIG_FILENAME
) -> Path:
    """Write ``config`` as ``directory/filename`` and return the file's path.

    The JSON is canonical (sorted keys, fixed indentation, trailing newline, UTF-8), so the same
    config always gives the same bytes and the CDK asset hash only changes with the content.
    Give each config a directory of its own if the directory itself becomes the asset.
    """
    text = _canonical(config)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    # Write then rename, so a parallel synth never sees a half-written file.
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{filename}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text + "\n")
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _canonical(config: dict[str, Any]) -> str:
    try:
        return json.dumps(config, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN / Infinity: not JSON, Clarify cannot read it
        raise ValueError(f"analysis config is not valid JSON: {exc}") from exc


# Written configs by (base directory, SHA-256 of the canonical JSON), for this process.
_CONFIG_FILES: dict[tuple[str, str], Path] = {}


def analysis_config_file(config: dict[str, Any], base: Path | None = None) -> Path:
    """The file of ``config``, written once per content: ``<base>/<sha256>/analysis_config.json``.

    Models of one shape have the same config, and an asset's hash depends only on its content
    (a single file's fingerprint does not include its name), so every one of them gets the same
    asset. Giving them the same path too lets aws-cdk-lib's staging cache, keyed by the source
    path, answer for all but the first instead of fingerprinting and copying each file again
    (``bench/scale.py``). ``base`` defaults to a temporary directory of this process.
    """
    text = _canonical(config)
    root = base if base is not None else _process_directory()
    key = (str(root), hashlib.sha256(text.encode("utf-8")).hexdigest())
    path = _CONFIG_FILES.get(key)
    if path is None or not path.is_file():
        path = _CONFIG_FILES[key] = write_analysis_config(config, root / key[1])
    return path


@functools.cache
def _process_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="clarify-config-"))


def _baseline_or_error(
    model: MonitoredModel, baseline: str | tuple[BaselineRow, ...] | None, feature_names: list[str]
) -> str | list[list[int | float | str | None]] | None:
    if not isinstance(baseline, tuple):
        return baseline
    for index, row in enumerate(baseline):
        if len(row) != len(feature_names):
            raise ClarifyConfigError(
                model=model.name,
                field=f"ExplainabilitySettings.baseline[{index}]",
                value=list(row),
                reason=f"has {len(row)} values but the model has {len(feature_names)} features",
                allowed=f"one value per feature, in order: {', '.join(feature_names)}",
            )
    return [list(row) for row in baseline]


def _sdk_rejected(
    model: MonitoredModel, field: str, value: object, exc: Exception
) -> ClarifyConfigError:
    return ClarifyConfigError(
        model=model.name,
        field=field,
        value=value,
        reason=f"was rejected by the SageMaker SDK: {exc}",
        allowed="values the sagemaker.core.clarify config classes accept",
    )


# Documents that passed the schema (see _frozen): the models of one shape have the same config,
# and the schema's walk costs about 1 ms of Python each (``bench/scale.py``). A document that
# fails is checked again each time, so the error names each model that has it.
_VALID_DOCUMENTS: set[object] = set()
_PLAIN = (str, int, float, bool, type(None))


def _frozen(value: object) -> object:
    """``value`` as a hashable key that keeps every type the schema tells apart (a list is not a
    tuple, ``1`` is not ``1.0`` or ``True``); None if it holds anything but JSON-like data."""
    try:
        return _freeze(value)
    except TypeError:
        return None


def _freeze(value: object) -> object:
    if isinstance(value, dict):
        return (dict, tuple((_freeze(k), _freeze(v)) for k, v in value.items()))
    if type(value) is list or type(value) is tuple:
        return (type(value), tuple(_freeze(item) for item in value))
    if type(value) in _PLAIN:
        return (type(value), value)
    raise TypeError(type(value).__name__)


def _validate(model: MonitoredModel, kind: str, document: dict[str, Any]) -> None:
    from sagemaker.core import clarify
    from schema import SchemaError

    key = _frozen(document)
    if key is not None and key in _VALID_DOCUMENTS:
        return
    try:
        clarify.ANALYSIS_CONFIG_SCHEMA_V1_0.validate(document)
        if key is not None:
            _VALID_DOCUMENTS.add(key)
    except SchemaError as exc:
        lines = [line for line in str(exc).splitlines() if line]
        keys = [m.group(1) for line in lines if (m := _SCHEMA_KEY_LINE.fullmatch(line))]
        details = [line for line in lines if not _SCHEMA_KEY_LINE.fullmatch(line)]
        raise ClarifyConfigError(
            model=model.name,
            field=".".join([f"{kind} analysis config", *keys]),
            value=_lookup(document, keys),
            reason="fails the SageMaker Clarify analysis config schema: " + "; ".join(details),
            allowed="a document matching sagemaker.core.clarify.ANALYSIS_CONFIG_SCHEMA_V1_0",
        ) from exc


_SCHEMA_KEY_LINE = re.compile(r"Key '([^']+)' error:")


def _lookup(document: object, keys: list[str]) -> object:
    """The value at a key path of the document, or the whole document if the path breaks."""
    node = document
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return document
        node = node[key]
    return node
