#!/usr/bin/env python3
"""What idle sessions cost mcpmux: opens N 2025-11-25 sessions over HTTP
(initialize, initialized, one tools/call) and abandons them, then prints
mcpmux's RSS at four points — before, with every session awake, with every
session asleep (a quiet session sleeps after 5 s), and after they all expired
(`session_idle_timeout`) — with the cost per session. It fails if a session
cannot be opened, if a sleeping session costs more than --limit-kib, or if RSS
does not come back within a fifth of the growth once they expired;
--rounds repeats it in the same mcpmux, to tell a leak from reuse. Stdlib
only; the backend is scripts/soak-backend.py.

    scripts/idle-sessions.py --bin target/release/mcpmux [-n 10000]
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def post(conn, path, body, session=None):
    headers = {
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
    }
    if session:
        headers["mcp-session-id"] = session
        headers["mcp-protocol-version"] = "2025-11-25"
    conn.request("POST", path, json.dumps(body), headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, r.getheader("mcp-session-id"), data


def open_session(conn, path):
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "idle-sessions", "version": "1"},
        },
    }
    status, sid, _ = post(conn, path, init)
    if status != 200 or not sid:
        raise RuntimeError(f"initialize answered {status}")
    status, _, _ = post(conn, path, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
    if status not in (200, 202):
        raise RuntimeError(f"initialized answered {status}")
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "alpha__echo", "arguments": {"text": "hi"}},
    }
    status, _, data = post(conn, path, call, sid)
    if status != 200 or b"hi" not in data:
        raise RuntimeError(f"tools/call answered {status}: {data[:200]!r}")


def abandon(host, port, path, n, workers):
    left = [n]
    lock = threading.Lock()
    errors = []

    def work():
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with lock:
                if left[0] == 0 or errors:
                    return
                left[0] -= 1
            try:
                open_session(conn, path)
            except Exception as e:  # noqa: BLE001 - reported, then fatal
                with lock:
                    errors.append(repr(e))
                return

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} sessions failed: {errors[0]}")


def settle(pid, seconds):
    """RSS after `seconds`, sampled each second; the last sample."""
    end = time.monotonic() + seconds
    now = rss_kib(pid)
    while time.monotonic() < end:
        time.sleep(1)
        now = rss_kib(pid)
    return now


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True, help="the mcpmux binary")
    p.add_argument("-n", type=int, default=10000, help="sessions to open (10000)")
    p.add_argument("--rounds", type=int, default=1, help="times to do it in one mcpmux (1)")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--idle-timeout", type=int, default=40, help="session_idle_timeout, s (40)")
    p.add_argument("--limit-kib", type=float, default=24.0, help="most a sleeping session may cost")
    a = p.parse_args()

    work = tempfile.mkdtemp(prefix="mcpmux-idle-")
    config = os.path.join(work, "mcpmux.yaml")
    backend = os.path.join(HERE, "soak-backend.py")
    with open(config, "w") as f:
        f.write(
            "listen:\n  transport: http\n  address: 127.0.0.1:0\n"
            f"  session_idle_timeout: {a.idle_timeout}s\n"
            f"backends:\n  - {{name: alpha, transport: command, command: [{sys.executable}, {backend}, --name, alpha]}}\n"
        )
    log = open(os.path.join(work, "mcpmux.log"), "w+")
    env = dict(os.environ)  # MCPMUX_LOG, if set, applies; else mcpmux's default
    mux = subprocess.Popen([a.bin, "serve", "-c", config], stdin=subprocess.DEVNULL, stderr=log, env=env)
    try:
        url = None
        for _ in range(300):
            log.seek(0)
            m = re.search(r"serving MCP at http://([^/ ]+)(/\S*)", log.read())
            if m:
                url = m
                break
            if mux.poll() is not None:
                break
            time.sleep(0.1)
        if not url:
            log.seek(0)
            sys.exit("mcpmux did not start:\n" + log.read())
        host, port = url.group(1).rsplit(":", 1)
        path = url.group(2)
        # Warm up the allocator and the connection path; let them go.
        abandon(host, int(port), path, 200, a.workers)
        base = settle(mux.pid, 8)
        print(f"RSS before          {base / 1024:7.1f} MiB")
        each = lambda kib: (kib - base) / a.n  # noqa: E731
        failed = []
        for round in range(1, a.rounds + 1):
            t0 = time.monotonic()
            abandon(host, int(port), path, a.n, a.workers)
            opened = time.monotonic() - t0
            awake = rss_kib(mux.pid)
            asleep = settle(mux.pid, 10)
            gone = settle(mux.pid, a.idle_timeout + 15)
            print(f"round {round}: {a.n} sessions opened in {opened:.1f} s ({a.n / opened:.0f}/s), then abandoned")
            print(f"  RSS all awake     {awake / 1024:7.1f} MiB  ({each(awake):5.1f} KiB per session)")
            print(f"  RSS all asleep    {asleep / 1024:7.1f} MiB  ({each(asleep):5.1f} KiB per session)")
            print(f"  RSS after expiry  {gone / 1024:7.1f} MiB  ({each(gone):5.1f} KiB per session)")
            if each(asleep) > a.limit_kib:
                failed.append(f"round {round}: a sleeping session costs {each(asleep):.1f} KiB, over {a.limit_kib}")
            if gone - base > (awake - base) / 5:
                failed.append(f"round {round}: RSS did not come back within a fifth of the growth")
            if mux.poll() is not None:
                failed.append(f"mcpmux exited ({mux.returncode})")
                break
        for f in failed:
            print("FAIL:", f)
        sys.exit(1 if failed else 0)
    finally:
        if mux.poll() is None:
            mux.terminate()
            mux.wait(timeout=20)


if __name__ == "__main__":
    main()
