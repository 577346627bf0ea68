"""bench/load.py's pure helpers: wrk's summary, HTTP heads, percentiles, the targets.
No server: the benchmark itself is run by hand (docs/benchmarks.md)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "bench_load", Path(__file__).resolve().parents[1] / "bench" / "load.py"
)
load = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = load  # dataclasses look their module up
SPEC.loader.exec_module(load)

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8429/health/live
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.32ms   10.01ms  99.12ms   89.00%
    Req/Sec     1.20k   200.00     1.50k    70.00%
  24000 requests in 10.00s, 4.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   2400.00
Transfer/sec:    409.60KB
WRKJSON {"requests": 24000, "duration_us": 10000000, "bytes": 4194304, "connect_errors": 0, \
"read_errors": 1, "write_errors": 0, "timeouts": 2, "non_2xx_3xx": 3, "p50_us": 4500, \
"p95_us": 39000, "p99_us": 77300, "max_us": 99120, "mean_us": 7320.0}
"""


def test_parse_wrk_reads_the_summary_line():
    result = load.parse_wrk(WRK_OUTPUT)
    assert result["requests"] == 24000
    assert result["rps"] == pytest.approx(2400.0)
    assert (result["p50"], result["p95"], result["p99"]) == (4.5, 39.0, 77.3)
    assert result["errors"] == 3  # read + timeouts; non-2xx counted apart
    assert result["non_2xx"] == 3


def test_parse_wrk_without_the_summary_line_says_so():
    with pytest.raises(ValueError, match="no WRKJSON line"):
        load.parse_wrk("Requests/sec:   2400.00\n")


def test_the_lua_summary_prints_every_field_parse_wrk_reads():
    for name in ("requests", "duration_us", "non_2xx_3xx", "p50_us", "p95_us", "p99_us"):
        assert f'"{name}"' in load.WRK_SCRIPT


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 101))  # 1..100
    assert load.percentile(values, 50) == 50
    assert load.percentile(values, 99) == 99
    assert load.percentile(values, 100) == 100
    assert load.percentile([3.0], 99) == 3.0
    assert load.percentile(reversed(values), 95) == 95
    assert math.isnan(load.percentile([], 50))


def test_parse_head():
    status, headers = load.parse_head(
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 12\r\nLocation: /api/v1/jobs/x/\r\n"
        b"Connection: close"
    )
    assert status == 202
    assert headers == {
        "content-length": "12",
        "location": "/api/v1/jobs/x/",
        "connection": "close",
    }
    with pytest.raises(ValueError):
        load.parse_head(b"garbage")


def test_latency_summary():
    summary = load.latency_summary([0.010] * 98 + [0.200, 0.300], wall_s=2.0)
    assert summary["requests"] == 100
    assert summary["rps"] == 50.0
    assert summary["p50"] == pytest.approx(10.0)
    assert summary["p99"] == pytest.approx(200.0)
    assert summary["max"] == pytest.approx(300.0)


def _rows(**changes):
    rows = {
        "floor": {"rps": 1000.0, "p99": 20.0, "server_ms": 0.5},
        "run": {"rps": 600.0, "p99": 40.0, "server_ms": 2.0},
        "job_done": {"rps": 500.0, "p99": 45.0, "server_ms": 2.5},
        "post": {"rps": 300.0, "p99": 60.0, "server_ms": 4.0},
        "batch": {"rps": 8.0, "p50": 120.0, "server_ms": 110.0},
    }
    for key, values in changes.items():
        rows[key] = {**rows[key], **values}
    return rows


E2E = {"batched": {"runs_per_s": 44.0}, "single": {"runs_per_s": 10.0}}


def test_targets_all_met():
    targets = load.targets_for(_rows(), E2E)
    assert len(targets) == 10
    assert all(t.met for t in targets), [t for t in targets if not t.met]


@pytest.mark.parametrize(
    ("rows", "e2e", "missed"),
    [
        (_rows(run={"rps": 499.0}), E2E, "cached run: throughput / floor"),
        (_rows(job_done={"p99": 50.0}), E2E, "finished job: p99 at load"),
        (_rows(run={"server_ms": 3.0}), E2E, "cached run: server time"),
        (_rows(post={"server_ms": 5.1}), E2E, "forecast POST: server time"),
        (_rows(batch={"p50": 151.0}), E2E, "batch POST (100 items): p50"),
        (
            _rows(),
            {"batched": {"runs_per_s": 39.0}, "single": {"runs_per_s": 9.0}},
            "end to end: day-ahead runs/s",
        ),
        (_rows(), {**E2E, "single": {"runs_per_s": 11.1}}, "end to end: batched / batch size 1"),
    ],
)
def test_each_target_can_be_missed(rows, e2e, missed):
    assert [t.name for t in load.targets_for(rows, e2e) if not t.met] == [missed]


def test_a_missing_measurement_is_a_missed_target():
    rows = _rows()
    del rows["post"]
    missed = [t.name for t in load.targets_for(rows, {}) if not t.met]
    assert "forecast POST: server time" in missed
    assert "end to end: day-ahead runs/s" in missed


def test_table_has_a_row_per_measured_path_and_the_ratio_to_the_floor():
    table = load.format_table(_rows())
    lines = table.splitlines()
    assert lines[0].startswith("| path | req/s | p50 ms | p95 ms | p99 ms | server ms")
    assert len(lines) == 2 + 5  # head, rule, five measured paths (no queued-job row)
    run_line = next(line for line in lines if "forecast-runs" in line)
    assert run_line.endswith("| 0.60 |")
    assert "MISSED" in load.format_targets(load.targets_for(_rows(run={"rps": 1.0}), E2E))


def test_parse_args_quick_shortens_the_run():
    args = load.parse_args(["--quick", "--worker-class", "sync", "--gunicorn-threads", "1"])
    assert (args.duration, args.e2e, args.connections) == (3, 100, 16)
    assert (args.worker_class, args.gunicorn_threads) == ("sync", 1)
    assert (load.parse_args([]).duration, load.parse_args([]).rounds) == (5, 3)
    # A size given with --quick wins over the quick default.
    args = load.parse_args(["--quick", "--duration", "10", "--e2e", "200"])
    assert (args.duration, args.e2e, args.posts) == (10, 200, 100)


def test_rounds_merge_to_medians_and_each_rounds_ratio_to_its_own_floor():
    rounds = [
        {"floor": {"rps": 1000.0, "p99": 20.0}, "run": {"rps": 600.0, "p99": 40.0}},
        {"floor": {"rps": 400.0, "p99": 90.0}, "run": {"rps": 200.0, "p99": 300.0}},  # a burst
        {"floor": {"rps": 900.0, "p99": 25.0}, "run": {"rps": 450.0, "p99": 45.0}},
    ]
    merged = load.rounds_merged(rounds)
    assert merged["run"]["rps"] == 450.0 and merged["run"]["p99"] == 45.0
    assert merged["run"]["ratio"] == 0.5  # of 0.6, 0.5 and 0.5, not 450 / 900
    assert merged["floor"]["ratio"] == 1.0 and merged["run"]["rounds"] == 3
    targets = {t.name: t for t in load.targets_for(merged, E2E)}
    assert targets["cached run: throughput / floor"].value == 0.5
    assert "| 0.50 |" in load.format_table(merged)
