"""Issue point 4: many concurrent sessions in one process against one emulator process.

The emulator runs in its own process (its CPU is not the SDK's). Each side runs in a fresh
child process of its own, so that its RSS and CPU are its alone:

- SDK: ``sessions`` ``ChatSession`` objects with the default configuration (each builds its
  own client, as a program would), connected ``connect_workers`` at a time.
- baseline: as many bare websocket-client connections (CreateParticipantConnection, open,
  subscribe), each with one thread that blocks in ``recv`` and sends ``aws/heartbeat`` every
  10 s: the least a Python client holding that many chats can do.

Measured on each side: wall time until every chat is subscribed, RSS added per chat (after a
``gc.collect()``), threads per chat, and this process's CPU while idle over ``idle_seconds``
(heartbeats only), as a percentage of one core.

Run one side alone: ``python -m benchmarks.bench_sessions --side sdk --url URL --sessions N``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import gc
import json
import subprocess
import sys
import threading
import time
from typing import Any

from benchmarks.support import EmulatorProcess, Outcome, ratio, rss_bytes

TARGET_SUBSCRIBE_S = 30.0
TARGET_MIB_PER_SESSION = 1.0
TARGET_IDLE_CPU_PCT = 10.0
HEARTBEAT_SECONDS = 10.0
MIB = 1024 * 1024


def start_chats(url: str, count: int, workers: int = 8) -> list[dict[str, str]]:
    """``count`` chats via StartChatContact (``PUT /contact/chat``) on the emulator."""
    import requests

    http = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=workers)
    http.mount("http://", adapter)

    def one(i: int) -> dict[str, str]:
        body = {
            "InstanceId": "bench-instance",
            "ContactFlowId": "bench-flow",
            "ParticipantDetails": {"DisplayName": f"Customer {i}"},
        }
        answer = http.put(f"{url}/contact/chat", json=body, timeout=30)
        answer.raise_for_status()
        data = answer.json()
        return {
            "contact_id": data["ContactId"],
            "participant_id": data["ParticipantId"],
            "participant_token": data["ParticipantToken"],
        }

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(count)))


# --------------------------------------------------------------------------------------------
# The two sides (each runs in its own child process)


class _SdkSide:
    def __init__(self, url: str) -> None:
        from connect_chat import ChatSession, GlobalConfig

        self._config = GlobalConfig(endpoint_url=url)
        self._make = ChatSession
        self.sessions: list[Any] = []
        self._lock = threading.Lock()
        self.broken = 0

    def _on_broken(self) -> None:
        with self._lock:
            self.broken += 1

    def connect(self, chat: dict[str, str]) -> None:
        from connect_chat import ChatDetails

        session = self._make(self._config)
        session.on_connection_broken = self._on_broken
        session.connect(ChatDetails(**chat))
        with self._lock:
            self.sessions.append(session)

    def active(self) -> int:
        return sum(1 for s in self.sessions if s.is_chat_session_active())

    def close(self, pool: concurrent.futures.Executor) -> None:
        list(pool.map(lambda s: s.reset(), self.sessions))


class _BareConnection:
    """One baseline chat: a subscribed socket and a thread that reads and heartbeats."""

    def __init__(self, url: str, token: str) -> None:
        from benchmarks.wire import open_subscribed

        self.ws, _ = open_subscribed(url, token)
        self.ws.settimeout(HEARTBEAT_SECONDS)
        self.alive = True
        self.thread = threading.Thread(target=self._run, name="bench-bare", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import websocket

        beat = json.dumps({"topic": "aws/heartbeat"})
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        while self.alive:
            try:
                if time.monotonic() >= next_beat:
                    self.ws.send(beat)
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
                self.ws.settimeout(max(0.01, next_beat - time.monotonic()))
                data = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                self.alive = False
                return
            json.loads(data)

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(Exception):
            self.ws.close(timeout=1)
        self.thread.join(2)


class _BareSide:
    def __init__(self, url: str) -> None:
        self._url = url
        self.connections: list[_BareConnection] = []
        self._lock = threading.Lock()
        self.broken = 0

    def connect(self, chat: dict[str, str]) -> None:
        conn = _BareConnection(self._url, chat["participant_token"])
        with self._lock:
            self.connections.append(conn)

    def active(self) -> int:
        return sum(1 for c in self.connections if c.alive)

    def close(self, pool: concurrent.futures.Executor) -> None:
        list(pool.map(lambda c: c.close(), self.connections))


def _own_threads() -> int:
    """Threads of this process other than the benchmark's own connect/close pools."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith("bench-connect"))


def measure_side(side: str, url: str, chats: list[dict[str, str]], idle_seconds: float,
                 workers: int) -> dict[str, Any]:
    """Connect every chat, then sit idle; this process's figures as a dict."""
    import websocket  # noqa: F401

    import connect_chat  # noqa: F401  (imported before the RSS baseline, like any program)

    holder: _SdkSide | _BareSide = _SdkSide(url) if side == "sdk" else _BareSide(url)
    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="bench-connect")
    list(pool.map(lambda _: None, range(workers)))  # start the pool's threads beforehand
    gc.collect()
    rss_before = rss_bytes()
    threads_before = _own_threads()
    cpu_before = time.process_time()
    start = time.perf_counter()
    errors = [f.exception() for f in [pool.submit(holder.connect, c) for c in chats]]
    subscribe_seconds = time.perf_counter() - start
    connect_cpu = time.process_time() - cpu_before
    failed = [repr(e) for e in errors if e is not None]
    gc.collect()
    rss_after = rss_bytes()
    threads = _own_threads() - threads_before
    cpu_idle_start = time.process_time()
    wall_idle_start = time.perf_counter()
    time.sleep(idle_seconds)
    idle_cpu = time.process_time() - cpu_idle_start
    idle_wall = time.perf_counter() - wall_idle_start
    active = holder.active()
    result = {
        "side": side,
        "chats": len(chats),
        "connected": len(chats) - len(failed),
        "failed": failed[:5],
        "failed_count": len(failed),
        "subscribe_seconds": subscribe_seconds,
        "connect_cpu_seconds": connect_cpu,
        "rss_added_bytes": rss_after - rss_before,
        "rss_per_chat_mib": (rss_after - rss_before) / max(1, len(chats)) / MIB,
        "threads_added": threads,
        "threads_per_chat": threads / max(1, len(chats)),
        "idle_seconds": idle_wall,
        "idle_cpu_seconds": idle_cpu,
        "idle_cpu_pct_of_one_core": 100.0 * idle_cpu / idle_wall,
        "active_after_idle": active,
        "broken_during_idle": holder.broken,
    }
    holder.close(concurrent.futures.ThreadPoolExecutor(64, thread_name_prefix="bench-close"))
    pool.shutdown()
    return result


def _run_child(side: str, url: str, chats: list[dict[str, str]], idle_seconds: float,
               workers: int) -> dict[str, Any]:
    payload = json.dumps({"chats": chats})
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_sessions", "--side", side, "--url", url,
         "--idle-seconds", str(idle_seconds), "--workers", str(workers)],
        input=payload,
        capture_output=True,
        text=True,
        timeout=600 + idle_seconds,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} child failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(sessions: int = 500, idle_seconds: float = 30.0, workers: int = 16) -> Outcome:
    out = Outcome(
        "sessions",
        params={"sessions": sessions, "idle_seconds": idle_seconds, "connect_workers": workers},
    )
    with EmulatorProcess() as emu:
        base_chats = start_chats(emu.url, sessions)
        sdk_chats = start_chats(emu.url, sessions)
        emu_cpu_0 = emu.cpu_seconds()
        base = _run_child("baseline", emu.url, base_chats, idle_seconds, workers)
        emu_cpu_1 = emu.cpu_seconds()
        sdk = _run_child("sdk", emu.url, sdk_chats, idle_seconds, workers)
        emu_cpu_2 = emu.cpu_seconds()
    all_ok = sdk["failed_count"] == 0 and sdk["active_after_idle"] == sessions
    out.add(
        f"all {sessions} subscribed (s)", sdk["subscribe_seconds"],
        baseline=base["subscribe_seconds"],
        ratio=ratio(sdk["subscribe_seconds"], base["subscribe_seconds"]),
        target=f"<= {TARGET_SUBSCRIBE_S:.0f} s, all connected",
        met=all_ok and sdk["subscribe_seconds"] <= TARGET_SUBSCRIBE_S, unit="s",
    )
    out.add(
        "RSS per session (MiB)", sdk["rss_per_chat_mib"], baseline=base["rss_per_chat_mib"],
        ratio=ratio(sdk["rss_per_chat_mib"], base["rss_per_chat_mib"]),
        target=f"<= {TARGET_MIB_PER_SESSION:.0f} MiB",
        met=sdk["rss_per_chat_mib"] <= TARGET_MIB_PER_SESSION, unit="MiB",
    )
    out.add(
        f"idle CPU over {idle_seconds:.0f} s (% of a core)", sdk["idle_cpu_pct_of_one_core"],
        baseline=base["idle_cpu_pct_of_one_core"],
        ratio=ratio(sdk["idle_cpu_pct_of_one_core"], base["idle_cpu_pct_of_one_core"]),
        target=f"<= {TARGET_IDLE_CPU_PCT:.0f}%",
        met=sdk["idle_cpu_pct_of_one_core"] <= TARGET_IDLE_CPU_PCT, unit="%",
    )
    out.add(
        "threads per session", sdk["threads_per_chat"], baseline=base["threads_per_chat"],
        target="2", met=abs(sdk["threads_per_chat"] - 2.0) < 0.01,
    )
    out.details = {
        "sdk": sdk,
        "baseline": base,
        "emulator_cpu_seconds": {
            "baseline_phase": None if emu_cpu_0 is None or emu_cpu_1 is None
            else emu_cpu_1 - emu_cpu_0,
            "sdk_phase": None if emu_cpu_1 is None or emu_cpu_2 is None
            else emu_cpu_2 - emu_cpu_1,
        },
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", choices=["sdk", "baseline"], required=True)
    parser.add_argument("--url", required=True, help="the emulator's endpoint URL")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--sessions", type=int, default=0,
                        help="start this many chats here (default: read them as JSON on stdin)")
    args = parser.parse_args(argv)
    if args.sessions:
        chats = start_chats(args.url, args.sessions)
    else:
        chats = json.loads(sys.stdin.read())["chats"]
    result = measure_side(args.side, args.url, chats, args.idle_seconds, args.workers)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
