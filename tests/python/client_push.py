"""Pushes with the official Python client (prometheus_client) to the gateway
given as the only argument, the way batch jobs do: PUT, POST and DELETE with
grouping keys whose values hold '/', spaces, URL-special characters and an
empty value, so the client's escaping (@base64, '=' for empty, quote_plus)
meets the server's decoding. tests/interop.rs runs it against pgw and the
official Pushgateway and compares the resulting groups."""

import os
import sys

# Counters would also expose *_created series; they add nothing here.
os.environ.setdefault("PROMETHEUS_DISABLE_CREATED_SERIES", "True")

from prometheus_client import (  # noqa: E402
    CollectorRegistry,
    Counter,
    Gauge,
    delete_from_gateway,
    push_to_gateway,
    pushadd_to_gateway,
)

gateway = sys.argv[1]
batch_key = {"path": "/var/tmp", "note": "two words", "empty": ""}

# PUT: the group holds only this gauge.
r1 = CollectorRegistry()
Gauge("py_last_success_unixtime", "Last time the batch job succeeded.", registry=r1).set(1234.5)
push_to_gateway(gateway, job="py/batch", registry=r1, grouping_key=batch_key)

# POST to the same group: adds a family, keeps the first.
r2 = CollectorRegistry()
Gauge("py_rows", "Rows processed.", ["table"], registry=r2).labels(table="users").set(42)
pushadd_to_gateway(gateway, job="py/batch", registry=r2, grouping_key=batch_key)

# Values that go through quote_plus: ':' and non-ASCII and '&'.
r3 = CollectorRegistry()
Counter("py_runs", "Runs.", registry=r3).inc(3)
push_to_gateway(gateway, job="py-other", registry=r3, grouping_key={"instance": "host:9100", "tag": "\u00fc&x"})

# Two groups of one job; the delete must remove exactly one of them.
push_to_gateway(gateway, job="py-gone", registry=r3, grouping_key={"instance": "a b/c"})
push_to_gateway(gateway, job="py-gone", registry=r3, grouping_key={"instance": "kept"})
delete_from_gateway(gateway, job="py-gone", grouping_key={"instance": "a b/c"})
