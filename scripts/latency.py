#!/usr/bin/env python3
"""End-to-end latency of a storm: from the first send of each order's newest acknowledged
version (the storm's JSON summary, `newestSentAtMs`) to the CRM simulator's first write of
that version's deal (`/_sim/writes`, `atMs`; the deal amount carries the version).

usage: latency.py STORM_JSON WRITES_JSON  ->  one line: count, p50/p95/p99/max in ms,
and how many acknowledged orders have no write yet.
"""
import json
import sys


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    i = round((len(sorted_values) - 1) * q)
    return sorted_values[min(i, len(sorted_values) - 1)]


def main():
    storm = json.load(open(sys.argv[1]))
    writes = json.load(open(sys.argv[2]))["results"]
    newest = {int(k): v for k, v in storm["newestAcknowledged"].items()}
    sent = {int(k): v for k, v in storm.get("newestSentAtMs", {}).items()}
    written = {}
    for w in writes:
        if w.get("objectType") != "deals":
            continue
        # Upserts name the deal by its id property; the key is then the record's `key`.
        key = w["key"] if w.get("idProperty") == "syncline_order_key" else \
            w["properties"].get("syncline_order_key", "")
        try:
            order = int(key.rsplit(":", 1)[-1])
            version = float(w["properties"].get("amount") or 0)
        except ValueError:
            continue
        if newest.get(order) is not None and version == float(newest[order]):
            written.setdefault(order, w["atMs"])
    latencies = sorted(written[o] - sent[o] for o in written if o in sent)
    missing = len(newest) - len(written)
    print("end to end (webhook sent -> deal written): %d orders, p50 %.0f ms, p95 %.0f ms, "
          "p99 %.0f ms, max %.0f ms; %d without a write" % (
              len(latencies), percentile(latencies, 0.50), percentile(latencies, 0.95),
              percentile(latencies, 0.99), latencies[-1] if latencies else 0, missing))


if __name__ == "__main__":
    main()
