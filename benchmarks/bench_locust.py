"""Issue 15: connect-chat as the Locust client, measured against a bare websocket-client user.

Every run is a real ``locust --headless`` process (``benchmarks/bench_locust_users.py``)
against an emulator with an echo agent in its own process; nothing here imports Locust.

- ``locust_chats``: chats held by one Locust process (one core), each sending a message every
  10 s and waiting for its echo, at each of ``levels``: failures and p99 of ``reply`` over
  the steady part (stats reset once every user is spawned). The figure is the largest level
  with zero failures and p99 <= 100 ms, SDK against baseline (equal p99 budget).
- ``locust_rampup``: time from the test start until ``chats`` users are connected (chats
  started beforehand, users spawned at once), SDK against baseline -- the bare loop, and the
  bare loop that also loads the newest transcript page as ``connect()`` does (the same
  requests).
- ``locust_distributed``: ``--processes 2`` (a master and two workers) holding ``chats``
  chats that each start their own contact (a message every 30 s, 50 users started a second:
  :data:`DISTRIBUTED_INTERVAL`), against one emulator process: all connected,
  failures, ``reply`` p50/p99, the emulator's CPU over the run and its latency (a probe
  timing a control-API GET every 0.2 s).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_sessions import start_chats
from benchmarks.support import Outcome, percentile, ratio

USERS_FILE = Path(__file__).resolve().with_name("bench_locust_users.py")
ROOT = USERS_FILE.parents[1]
TARGET_CHATS = 2000
TARGET_P99_MS = 100.0
TARGET_CHATS_RATIO = 0.5
TARGET_RAMP_RATIO = 1.5
#: Users started per second and per Locust process in the steady-state runs (the ramp-up
#: benchmark starts them all at once): a rate one core can connect, so that the steady part
#: measures the chats, not a backlog of connects.
RAMP_RATE = 50.0
_LISTENING = re.compile(r"listening on (http://\S+)")


class EchoEmulator:
    """``python -m connect_chat.emulator --agent echo --port 0`` in a process of its own."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "connect_chat.emulator", "--port", "0", "--agent", "echo",
             "--max-ended-contacts", "20000", "--max-call-records", "1000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        self.url = ""
        while time.monotonic() < deadline and not self.url:
            match = _LISTENING.search(self.proc.stdout.readline())
            if match:
                self.url = match.group(1)
        if not self.url:
            self.stop()
            raise RuntimeError("the emulator process did not start")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # drain

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> EchoEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _locust(user_class: str, url: str, users: int, rate: float, run_time: float,
            workdir: Path, env: dict[str, str], extra: list[str]) -> dict[str, dict[str, str]]:
    """Run Locust headless; its CSV stats rows by name."""
    prefix = workdir / user_class
    command = [sys.executable, "-m", "locust", "-f", str(USERS_FILE), "--headless",
               "-u", str(users), "-r", str(rate), "-t", f"{int(run_time)}s", "--host", url,
               "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
               "--loglevel", "WARNING", *extra, user_class]
    child_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(command, env=child_env, capture_output=True, text=True,
                          timeout=run_time + 180, check=False)
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no stats: {proc.stderr[-2000:]}")
    with stats.open(newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    rows["_log"] = {"tail": proc.stderr[-1500:], "status": str(proc.returncode)}
    return rows


def _chats_file(url: str, count: int, workdir: Path) -> dict[str, str]:
    path = workdir / f"chats-{count}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(start_chats(url, count, workers=16)))
    return {"BENCH_CHATS": str(path)}


def _row_figures(rows: dict[str, dict[str, str]], name: str) -> dict[str, float]:
    row = rows.get(name)
    if row is None:
        return {"count": 0.0, "failures": 0.0, "p50": float("nan"), "p99": float("nan")}
    return {"count": float(row["Request Count"]), "failures": float(row["Failure Count"]),
            "p50": float(row["50%"]), "p99": float(row["99%"]),
            "max": float(row["Max Response Time"])}


def capacity_level(side: str, chats: int, steady: float, interval: float,
                   workdir: Path) -> dict[str, Any]:
    """One Locust process holding ``chats`` chats of ``side`` (SdkChat or BareChat)."""
    rate = RAMP_RATE
    with EchoEmulator() as emu:
        env = _chats_file(emu.url, chats, workdir)
        env["BENCH_INTERVAL"] = str(interval)
        cpu0 = emu.cpu_seconds()
        rows = _locust(side, emu.url, chats, rate, chats / rate + steady, workdir, env,
                       ["--reset-stats"])
        emu_cpu = emu.cpu_seconds() - cpu0
    reply = _row_figures(rows, "reply")
    connect = _row_figures(rows, "connect")
    failures = reply["failures"] + connect["failures"]
    return {"side": side, "chats": chats, "reply": reply, "connect_failures_after_spawn":
            connect["failures"], "failures": failures, "emulator_cpu_seconds": emu_cpu,
            "ok": failures == 0 and reply["count"] > 0 and reply["p99"] <= TARGET_P99_MS,
            "log": rows["_log"]}


def run_chats(levels: tuple[int, ...] = (TARGET_CHATS,), steady: float = 40.0,
              interval: float = 10.0) -> Outcome:
    out = Outcome("locust_chats", params={"levels": list(levels), "steady_s": steady,
                                          "interval_s": interval})
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        results = {
            side: [capacity_level(side, n, steady, interval, Path(tmp)) for n in levels]
            for side in ("SdkChat", "BareChat")
        }
    out.details["levels"] = results

    def best(side: str) -> float:
        return float(max((r["chats"] for r in results[side] if r["ok"]), default=0))

    sdk_best, base_best = best("SdkChat"), best("BareChat")
    head = TARGET_CHATS if TARGET_CHATS in levels else max(levels)
    top = next(r for r in results["SdkChat"] if r["chats"] == head)
    base_top = next(r for r in results["BareChat"] if r["chats"] == head)
    out.add(f"{head} chats: reply p99 (ms)", top["reply"]["p99"],
            baseline=base_top["reply"]["p99"], ratio=ratio(top["reply"]["p99"],
                                                           base_top["reply"]["p99"]),
            target=f"<= {TARGET_P99_MS:.0f} ms, 0 failures",
            met=top["ok"] and top["chats"] >= TARGET_CHATS, unit="ms")
    out.add(f"{head} chats: failures", top["failures"], baseline=base_top["failures"],
            target="0", met=top["failures"] == 0)
    out.add(f"{head} chats: reply p50 (ms)", top["reply"]["p50"],
            baseline=base_top["reply"]["p50"], unit="ms")
    out.add("chats sustained at p99 <= 100 ms (levels tried)", sdk_best, baseline=base_best,
            ratio=ratio(sdk_best, base_best), target=f"ratio >= {TARGET_CHATS_RATIO}",
            met=(ratio(sdk_best, base_best) or 0.0) >= TARGET_CHATS_RATIO)
    return out


def run_rampup(chats: int = 1000) -> Outcome:
    out = Outcome("locust_rampup", params={"chats": chats})
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        for side in ("BareChat", "BareChatWithHistory", "SdkChat"):
            with EchoEmulator() as emu:
                env = _chats_file(emu.url, chats, Path(tmp))
                result = Path(tmp) / f"{side}-ramp.json"
                env.update(BENCH_RAMP_TARGET=str(chats), BENCH_RESULT=str(result),
                           BENCH_INTERVAL="3600")
                rows = _locust(side, emu.url, chats, chats, 120, Path(tmp), env, [])
                if not result.exists():
                    raise RuntimeError(f"{side}: not all connected: {rows['_log']}")
                figures[side] = json.loads(result.read_text())
                figures[side]["connect"] = _row_figures(rows, "connect")
    out.details.update(figures)
    sdk, base = figures["SdkChat"], figures["BareChat"]
    out.add(f"{chats} chats connected (s)", sdk["seconds"], baseline=base["seconds"],
            ratio=ratio(sdk["seconds"], base["seconds"]),
            target=f"ratio <= {TARGET_RAMP_RATIO}",
            met=(ratio(sdk["seconds"], base["seconds"]) or 99.0) <= TARGET_RAMP_RATIO, unit="s")
    same = figures["BareChatWithHistory"]
    out.add(f"{chats} chats connected (s), baseline with the SDK's requests", sdk["seconds"],
            baseline=same["seconds"], ratio=ratio(sdk["seconds"], same["seconds"]), unit="s")
    out.add("ramp-up CPU of the Locust process (s)", sdk["cpu_seconds"],
            baseline=base["cpu_seconds"], ratio=ratio(sdk["cpu_seconds"], base["cpu_seconds"]))
    return out


def _probe(url: str, contact_id: str, stop: threading.Event, samples: list[float]) -> None:
    import requests

    http = requests.Session()
    while not stop.wait(0.2):
        started = time.perf_counter()
        try:
            http.get(f"{url}/emulator/contacts/{contact_id}", timeout=10).raise_for_status()
        except Exception:
            samples.append(float("inf"))
            continue
        samples.append((time.perf_counter() - started) * 1000.0)


#: The distributed run's defaults: master, 2 workers and the emulator share this machine's
#: cores, so its chats send every 30 s (4,000 chats every 10 s need ~2 cores of client CPU
#: alone, the bare baseline's too) and start 50 a second in all.
DISTRIBUTED_INTERVAL = 30.0
DISTRIBUTED_RATE = RAMP_RATE


def run_distributed(chats: int = 4000, steady: float = 40.0,
                    interval: float = DISTRIBUTED_INTERVAL,
                    rate: float = DISTRIBUTED_RATE) -> Outcome:
    out = Outcome("locust_distributed", params={"chats": chats, "processes": 2,
                                                "steady_s": steady, "interval_s": interval,
                                                "users_started_per_s": rate})
    run_time = chats / rate + steady
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp, EchoEmulator() as emu:
        probe_chat = start_chats(emu.url, 1)[0]
        samples: list[float] = []
        stop = threading.Event()
        prober = threading.Thread(target=_probe, args=(emu.url, probe_chat["contact_id"],
                                                       stop, samples), daemon=True)
        cpu0, wall0 = emu.cpu_seconds(), time.perf_counter()
        prober.start()
        try:
            rows = _locust("SdkChat", emu.url, chats, rate, run_time, Path(tmp),
                           {"BENCH_INTERVAL": str(interval)}, ["--processes", "2"])
        finally:
            stop.set()
            prober.join(5)
        emu_cpu_pct = 100.0 * (emu.cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
    connect, reply = _row_figures(rows, "connect"), _row_figures(rows, "reply")
    start = _row_figures(rows, "start_chat")
    failures = connect["failures"] + reply["failures"] + start["failures"]
    finite = [s for s in samples if s != float("inf")] or [float("nan")]
    out.details.update(connect=connect, reply=reply, start_chat=start, log=rows["_log"],
                       probe_samples=len(samples), probe_failed=len(samples) - len(finite))
    out.add("chats connected", connect["count"] - connect["failures"],
            target=f"== {chats}", met=connect["count"] - connect["failures"] == chats)
    out.add("failures", failures, target="0", met=failures == 0)
    out.add("reply p50 (ms)", reply["p50"], unit="ms")
    out.add("reply p99 (ms)", reply["p99"], unit="ms")
    out.add("emulator CPU (% of one core)", emu_cpu_pct, unit="%")
    out.add("emulator probe p50 (ms)", percentile(finite, 50), unit="ms")
    out.add("emulator probe p99 (ms)", percentile(finite, 99), unit="ms")
    return out


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=["chats", "rampup", "distributed"])
    parser.add_argument("--chats", type=int, nargs="+")
    parser.add_argument("--steady", type=float, default=40.0)
    parser.add_argument("--interval", type=float,
                        help="seconds between a chat's messages (10; distributed: 30)")
    parser.add_argument("--rate", type=float, default=DISTRIBUTED_RATE,
                        help="distributed: users started per second, all workers together")
    args = parser.parse_args()
    if args.which == "chats":
        outcome = run_chats(tuple(args.chats or (TARGET_CHATS,)), args.steady,
                            args.interval or 10.0)
    elif args.which == "rampup":
        outcome = run_rampup((args.chats or [1000])[0])
    else:
        outcome = run_distributed((args.chats or [4000])[0], args.steady,
                                  args.interval or DISTRIBUTED_INTERVAL, args.rate)
    print(json.dumps(outcome.to_json(), indent=1, default=str))


if __name__ == "__main__":
    main()
