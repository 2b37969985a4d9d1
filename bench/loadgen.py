"""The load generator: wrk (C, event-driven) with a Lua script that sets the POST body and headers and
reports its latency percentiles as one JSON line."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA = """wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
{auth}
-- A 200 answer can still carry GraphQL errors (the hub answers a failed resolver that way): count
-- every answer that is not a 200 or whose body has a top-level error as failed.
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
failed = 0
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":[{{"message"', 1, true) then failed = failed + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("failed") end
  io.write(string.format(
    'BENCHJSON {{"requests":%d,"duration_us":%d,"bytes":%d,"failed":%d,"errors":{{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}},' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}}\\n',
    summary.requests, summary.duration, summary.bytes, bad, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    #: Answers that were not a 200 or carried a top-level GraphQL error.
    failed: int
    #: CPU seconds wrk itself used (it shares the machine's cores with the server).
    loadgen_cpu_s: float


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (make bench does it)")
    return found


def write_script(path: Path, body: dict[str, Any], token: str | None) -> Path:
    text = json.dumps(body, separators=(",", ":"))
    if "]==]" in text:
        raise ValueError("the body cannot be quoted in Lua")
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(LUA.format(body=text, auth=auth))
    return path


def run(url: str, script: Path, seconds: float, connections: int, threads: int = 2) -> Load:
    cmd = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("BENCHJSON "))
    secs = data["duration_us"] / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Load(
        requests=data["requests"],
        seconds=secs,
        rps=data["requests"] / secs if secs else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["errors"],
        failed=data["failed"],
        loadgen_cpu_s=cpu,
    )
