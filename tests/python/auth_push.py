"""Pushes one gauge with the official Python client (prometheus_client) and
its basic_auth_handler, the way a cron job behind a protected gateway does.
Arguments: gateway URL, user, password. Exits non-zero (with the client's
error) when the gateway refuses the push. tests/auth.rs runs it against pgw."""

import sys

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.exposition import basic_auth_handler

gateway, user, password = sys.argv[1:4]


def handler(url, method, timeout, headers, data):
    return basic_auth_handler(url, method, timeout, headers, data, user, password)


registry = CollectorRegistry()
Gauge("py_auth_pushed", "Pushed with basic auth.", registry=registry).set(1)
push_to_gateway(gateway, job="py-auth", registry=registry, handler=handler)
