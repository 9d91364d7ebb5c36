"""One short-lived worker of a job, as a serverless function or a CI shard
runs it: pushes its own counter increments and histogram observations to the
gateway given as the first argument, through the official Python client
(prometheus_client) with a handler that adds `Pgw-Aggregate: sum`, so that
the gateway adds them into the job's one group. Worker N (the second
argument, from 1) counts N rows and observes 0.25 seconds N times and
5 seconds once, so the totals of any set of workers are known.
tests/aggregate.rs runs twenty of these at once."""

import os
import sys

# The *_created series would be pushed as gauges beside each family; a
# worker's creation time means nothing once its values are added up.
os.environ.setdefault("PROMETHEUS_DISABLE_CREATED_SERIES", "True")

from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: E402
from prometheus_client import pushadd_to_gateway  # noqa: E402
from prometheus_client.exposition import default_handler  # noqa: E402

gateway, n = sys.argv[1], int(sys.argv[2])


def aggregating_handler(url, method, timeout, headers, data):
    return default_handler(url, method, timeout, headers + [("Pgw-Aggregate", "sum")], data)


registry = CollectorRegistry()
rows = Counter("agg_rows", "Rows processed.", registry=registry)
duration = Histogram("agg_duration_seconds", "Time per row.", buckets=[0.5, 10], registry=registry)
rows.inc(n)
for _ in range(n):
    duration.observe(0.25)
duration.observe(5)
# POST: the group keeps what other workers pushed (a PUT would reset it).
pushadd_to_gateway(gateway, job="agg-py", registry=registry, handler=aggregating_handler)
