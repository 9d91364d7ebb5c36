#!/usr/bin/env python3
"""Writes a push body of native histograms as a Go service sends it: delimited
protobuf, FAMILIES families of SERIES label sets each, schema 3, BUCKETS
populated buckets in two spans, a zero bucket, a created timestamp and an
exemplar per series (client_golang's shape).

usage: native_body.py OUT [FAMILIES] [SERIES] [BUCKETS]   (default 20 5 30)
"""
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def key(field, wire):
    return varint(field << 3 | wire)


def string(field, s):
    b = s.encode()
    return key(field, 2) + varint(len(b)) + b


def message(field, body):
    return key(field, 2) + varint(len(body)) + body


def double(field, v):
    return key(field, 1) + struct.pack("<d", v)


def uint(field, v):
    return key(field, 0) + varint(v)


def sint(field, v):
    return key(field, 0) + varint(zigzag(v))


def label(name, value):
    return message(1, string(1, name) + string(2, value))


def histogram(seed, buckets):
    counts = [1 + (seed * 7 + i * 13) % 50 for i in range(buckets)]
    deltas = [counts[0]] + [b - a for a, b in zip(counts, counts[1:])]
    first = buckets // 2
    spans = message(12, sint(1, -8) + uint(2, first)) + message(
        12, sint(1, 3) + uint(2, buckets - first)
    )
    zero = 2
    h = uint(1, sum(counts) + zero) + double(2, 0.25 * sum(counts))
    h += sint(5, 3) + double(6, 2.938735877055719e-39) + uint(7, zero)
    h += spans
    for d in deltas:
        h += sint(13, d)
    h += message(15, uint(1, 1_780_000_000) + uint(2, seed))
    exemplar = label("trace_id", "%016x" % (seed * 2654435761)) + double(2, 0.042)
    exemplar += message(3, uint(1, 1_780_000_100) + uint(2, 5))
    h += message(16, exemplar)
    return h


def main():
    out = sys.argv[1]
    families = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    series = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    buckets = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    body = bytearray()
    for f in range(families):
        family = string(1, "rpc_%02d_duration_seconds" % f)
        family += string(2, "Duration of RPCs of kind %d." % f) + uint(3, 4)
        for s in range(series):
            metric = label("code", "200" if s % 2 == 0 else "500")
            metric += label("method", "m%d" % s)
            metric += message(7, histogram(f * series + s, buckets))
            family += message(4, metric)
        body += varint(len(family)) + family
    with open(out, "wb") as fh:
        fh.write(body)


main()
