"""Load on `searchkit serve` (issue #14): N concurrent clients against 127.0.0.1 for a fixed
time, with a rebuild of the index in the middle. Not a test; it stops by itself.

    searchkit index ../shared/corpus/{finews,finance}/_posts --index /tmp/load-index
    python tests/bench/load.py --index /tmp/load-index --clients 50 --seconds 60 --workers 1
    python tests/bench/load.py --index /tmp/load-index --clients 50 --seconds 60 --workers 2

It starts `searchkit serve --workers W` on a free loopback port, warms it, then runs the
clients: each sends its next request as soon as the last is answered (HTTP/1.1 keep-alive),
a mix like a person's session: 60% `/api/search?q=WORD`, 20% the search page `/?q=WORD` (with
facets and the timeline), 10% a filtered or date-sorted API search, 10% `/api/posts/{id}`.
At --rebuild-at seconds it runs `searchkit rebuild` on the index as a separate process (as
cron would), and the server must move to the new generation without an error. The load goes on
for --seconds, and if the rebuild is still running then, until 5 s after it ends (at most
3 × --seconds), so that the swap always happens under load.

Prints requests/s, p50/p95/p99 latency (all requests, by kind, and those sent while the
rebuild ran), errors (any status but 200, any broken connection), when the rebuild ran, the
load average, and the clients' own CPU time. Exit code 0 when there was no error.

The clients are a closed loop: 50 clients each waiting for its answer means 50 requests in
flight at every moment, so the mean latency is 50 / (requests/s) (Little's law), and a
server twice as fast shows half the latency, not twice the requests at the same latency.
They share the machine with the server, so they are kept cheap: one keep-alive connection
each, raw HTTP/1.1 on asyncio streams (no HTTP library), on uvloop as the server is:
~0.1 ms of CPU a request, about a tenth of a core at 1,000 requests/s, which the runner
prints so that a reader can see how much of the machine it took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

try:
    import uvloop  # installed with uvicorn[standard]; the clients cost ~half the CPU on it
except ImportError:
    uvloop = None

WORDS = [
    "缩表", "加息", "降息", "美联储", "逆回购", "降准", "通胀", "国债", "北向资金", "人民币",
    "汇率", "A股", "港股", "芯片", "新能源", "房地产", "央行", "GDP", "CPI", "MLF",
    "特斯拉", "英伟达", "光伏", "券商", "基金", "黄金", "原油", "美元", "债券", "银行",
    "美联储 加息", "缩表 -美联储", "央行 降准", "人工智能", "半导体", "消费", "出口", "关税",
    "稳增长", "美股",
]  # fmt: skip
TIMEOUT = 30.0  # seconds for one answer before it counts as an error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index with its sources")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rebuild-at", type=float, default=5.0, help="seconds into the run")
    parser.add_argument("--no-rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--no-cache", action="store_true", help="turn off the answer cache: every request searches"
    )
    args = parser.parse_args()
    searchkit = shutil.which("searchkit") or str(Path(sys.executable).parent / "searchkit")
    port = _free_port()
    server = subprocess.Popen(
        [searchkit, "serve", "--index", str(args.index), "--port", str(port)]
        + ["--workers", str(args.workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SEARCHKIT_SERVE_CACHE": "0" if args.no_cache else ""},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        ids = _wait_and_warm(base, server)
        rebuild_at = None if args.no_rebuild else args.rebuild_at
        before = _generation(base)
        server_cpu = _cpu_seconds(server.pid)
        run = _run(
            port, args.clients, args.seconds, ids, rebuild_at, searchkit, args.index, args.seed
        )
        report = uvloop.run(run) if uvloop else asyncio.run(run)
        report["server_cpu"] = _cpu_seconds(server.pid) - server_cpu
        report["generations"] = (before, _generation(base))
    finally:
        server.terminate()
        server.wait(timeout=30)
    _print(report, args)
    return 0 if report["errors"] == 0 else 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_and_warm(base: str, server: subprocess.Popen) -> list[str]:
    """Wait for the server, search each word once (each worker loads jieba and the index on
    its first request), and return post ids to ask for."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/stats", timeout=10):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start") from None
            time.sleep(0.2)
    ids = []
    for word in WORDS * 2:
        with urllib.request.urlopen(f"{base}/api/search?q={quote(word)}", timeout=60) as answer:
            ids += [hit["id"] for hit in json.load(answer)["hits"]]
    return sorted(set(ids))


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and its descendants (the
    server's workers), read from /proc: Linux only, 0 elsewhere."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            # The fields after the command's closing parenthesis; utime and stime are 14 and 15.
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def _generation(base: str) -> str:
    with urllib.request.urlopen(f"{base}/api/stats", timeout=60) as answer:
        return json.load(answer)["generation"]


def _request_path(rng: random.Random, ids: list[str]) -> tuple[str, str]:
    """(kind, path) of a client's next request."""
    word = quote(rng.choice(WORDS))
    draw = rng.random()
    if draw < 0.6:
        return "search", f"/api/search?q={word}"
    if draw < 0.8:
        return "page", f"/?q={word}"
    if draw < 0.9:
        since = f"202{rng.randint(2, 6)}-{rng.randint(1, 12):02d}"
        sort = rng.choice(["date", "relevance"])
        return "filtered", f"/api/search?q={word}&since={since}&sort={sort}"
    return "post", f"/api/posts/{quote(rng.choice(ids), safe='')}"


async def _client(port, stop, ids, rng, latencies, errors) -> None:
    reader = writer = None
    while not stop():
        kind, path = _request_path(rng, ids)
        started = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("ascii"))
            status = await asyncio.wait_for(_read_response(reader), TIMEOUT)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            errors.append(f"{path}: {type(error).__name__} {error}")
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        latencies.append((kind, started, time.monotonic() - started))
        if status != 200:
            errors.append(f"{path}: HTTP {status}")
    if writer is not None:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _run(port, clients, seconds, ids, rebuild_at, searchkit, index, seed) -> dict:
    latencies: list[tuple[str, float, float]] = []  # kind, when sent, seconds
    cpu, children_cpu = time.process_time(), _children_cpu()
    errors: list[str] = []
    started = time.monotonic()
    rebuild = {}

    def stop() -> bool:
        """After `seconds`; if a rebuild is still running then, 5 s after it ends (at most
        3 × `seconds` in all), so that the swap to the new index happens under load."""
        now = time.monotonic() - started
        if now >= 3 * seconds:
            return True
        if rebuild_at is None or "finished" in rebuild:
            return now >= max(seconds, rebuild.get("finished", 0) + 5)
        return False

    async def rebuild_midway():
        await asyncio.sleep(rebuild_at)
        rebuild["started"] = time.monotonic() - started
        process = await asyncio.create_subprocess_exec(
            searchkit, "rebuild", "--index", str(index),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await process.communicate()
        rebuild["finished"] = time.monotonic() - started
        # The rebuild is the only child reaped during the run (the server runs on).
        rebuild["cpu"] = _children_cpu() - children_cpu
        rebuild["exit"] = process.returncode
        rebuild["stderr"] = stderr.decode()[-500:]

    tasks = [
        _client(port, stop, ids, random.Random(seed + n), latencies, errors) for n in range(clients)
    ]
    rebuilding = asyncio.ensure_future(rebuild_midway()) if rebuild_at is not None else None
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    if rebuilding is not None:
        await rebuilding  # only after 3 × seconds
    return {
        "requests": len(latencies),
        "elapsed": elapsed,
        "started": started,
        "latencies": latencies,
        "client_cpu": time.process_time() - cpu,
        "errors": len(errors),
        "error_samples": errors[:10],
        "rebuild": rebuild,
        "load": os.getloadavg(),
    }


def _print(report: dict, args) -> None:
    every = [seconds for _, _, seconds in report["latencies"]]

    def ms(latencies: list[float], fraction: float) -> str:
        if not latencies:
            return "-"
        ordered = sorted(latencies)
        return f"{ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000:.0f}"

    print(
        f"{args.clients} clients, {report['elapsed']:.0f} s, {args.workers} worker(s)"
        f"{', no cache' if args.no_cache else ''}: "
        f"{report['requests'] / report['elapsed']:.1f} requests/s, "
        f"p50 {ms(every, 0.50)} ms, p95 {ms(every, 0.95)} ms, p99 {ms(every, 0.99)} ms, "
        f"{report['errors']} errors ({report['requests']} requests)"
    )
    for kind in ("search", "page", "filtered", "post"):
        some = [seconds for name, _, seconds in report["latencies"] if name == kind]
        print(
            f"  {kind:<9} {len(some):>6} requests, p50 {ms(some, 0.5)} ms, p95 {ms(some, 0.95)} ms"
        )
    rebuild = report["rebuild"]
    if "finished" in rebuild:
        begin, end = (report["started"] + rebuild[name] for name in ("started", "finished"))
        during = [seconds for _, sent, seconds in report["latencies"] if begin <= sent < end]
        print(
            f"  while the rebuild ran: {len(during)} requests, "
            f"{len(during) / max(end - begin, 1e-9):.1f} requests/s, "
            f"p50 {ms(during, 0.5)} ms, p95 {ms(during, 0.95)} ms, p99 {ms(during, 0.99)} ms"
        )
    if rebuild:
        status = "ok" if rebuild.get("exit") == 0 else f"exit {rebuild.get('exit')}"
        print(
            f"rebuild: from {rebuild['started']:.0f} s to {rebuild['finished']:.0f} s ({status})"
            + ("" if rebuild["finished"] <= report["elapsed"] else ", after the load ended")
            + "; generation {} -> {}".format(*report["generations"])
        )
        if rebuild.get("exit"):
            print(rebuild["stderr"])
    print("load average (1, 5, 15 min): " + ", ".join(f"{n:.2f}" for n in report["load"]))
    if report["server_cpu"]:
        print(
            f"the server's CPU time: {report['server_cpu']:.1f} s "
            f"({report['server_cpu'] / report['elapsed']:.2f} cores, "
            f"{report['requests'] / report['server_cpu']:.0f} requests a CPU second)"
        )
    if "cpu" in rebuild:
        print(f"the rebuild's CPU time: {rebuild['cpu']:.1f} s")
    print(
        f"the clients' own CPU time: {report['client_cpu']:.1f} s "
        f"({report['client_cpu'] / report['elapsed']:.0%} of one core, "
        f"{report['client_cpu'] / max(report['requests'], 1) * 1e6:.0f} µs a request)"
    )
    for sample in report["error_samples"]:
        print("error:", sample)


if __name__ == "__main__":
    sys.exit(main())
