"""The Dask kit: ``ddf.flowodm.produce(Model)`` and ``ddf.flowodm.validate(Model)``.

Importing this package registers the ``flowodm`` accessor on ``dask.dataframe.DataFrame``;
``import flowodm`` does it as soon as ``dask.dataframe`` is imported (never importing dask
itself). Each partition is handled on the worker that computes it; the client gets one
combined ``DaskProduceReport`` / ``DaskValidationReport``. ``read_topic(Model)`` reads a topic
into a Dask DataFrame, each offset range on a worker (``compute_read`` adds its ``ReadReport``).
See docs/dask.md.
"""

from __future__ import annotations

from flowodm.dask.accessor import DaskFlowODMAccessor
from flowodm.dask.read import compute_read, read_topic
from flowodm.dask.reports import DaskProduceReport, DaskValidationReport, PartitionCounts
from flowodm.dask.worker import close_worker_connections

__all__ = [
    "DaskFlowODMAccessor",
    "DaskProduceReport",
    "DaskValidationReport",
    "PartitionCounts",
    "close_worker_connections",
    "compute_read",
    "read_topic",
]
