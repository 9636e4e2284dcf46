"""The DataFrame kit: ``df.flowodm.produce/validate/to_models/iter_models`` and their reports.

Importing this package registers the ``df.flowodm`` accessor (``import flowodm`` does it when
pandas is installed). ``ProduceRun`` is the chunked pipeline underneath, for callers that feed
rows chunk by chunk (the ``flowodm produce FILE`` command).
"""

from __future__ import annotations

from flowodm.pandas.accessor import FlowODMAccessor
from flowodm.pandas.columnar import columnar_blocker
from flowodm.pandas.options import DEFAULT_CHUNK_SIZE, RunOptions, RunProgress
from flowodm.pandas.pipeline import ProduceRun
from flowodm.pandas.registry_check import RegistryCheck, check_registry
from flowodm.pandas.reports import DeliveryFailure, ProduceReport, RowError, ValidationReport

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DeliveryFailure",
    "FlowODMAccessor",
    "ProduceReport",
    "ProduceRun",
    "RegistryCheck",
    "RowError",
    "RunOptions",
    "RunProgress",
    "ValidationReport",
    "check_registry",
    "columnar_blocker",
]
