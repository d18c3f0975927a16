#!/usr/bin/env python3
"""The load and the verdict of scripts/soak: drives a running mcpmux over HTTP
for a given time and says whether it held up (stdlib only).

Worker threads loop: most open a 2025-11-25 session (initialize,
notifications/initialized, sometimes tools/list), make a few tools/call to
the healthy backends and sometimes to the victim, and DELETE the session
(or abandon it, to expire);
some make stateless 2026-07-28 calls instead. A killer thread SIGKILLs the
victim backend (a child of mcpmux) every few seconds; mcpmux restarts it.
Every second it samples mcpmux's RSS, open fds, threads and child
processes, and prints a line.

The run: warm-up load, then a pause (load stopped, every backend up again)
where the baseline is taken, then the measured load, then the same pause
where the final figures are taken. It exits 1 if a call to a healthy backend
failed or came back wrong, a call to the victim got no answer at all (a
lost call), RSS grew more than --max-rss-growth from baseline, fds or
children did not return to baseline, or mcpmux died.
"""

import argparse
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
CLIENT_INFO = {"name": "mcpmux-soak", "version": "1"}


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- the process


def proc_status(pid):
    """VmRSS in KiB and the thread count of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    if fields.get("State", "").strip().startswith("Z"):
        return None
    return int(fields["VmRSS"].split()[0]), int(fields["Threads"])


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def children(pid):
    """The pids of pid's child processes (zombies included), over all its threads."""
    kids = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.update(int(k) for k in f.read().split())
        except OSError:
            pass
    return kids


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def backend_pid(mux, name):
    """The pid of the child of mcpmux running backend `name` (started with --name NAME)."""
    for kid in children(mux):
        argv = cmdline(kid)
        if b"--name" in argv and argv.index(b"--name") + 1 < len(argv) and argv[argv.index(b"--name") + 1] == name.encode():
            return kid
    return None


# ---------------------------------------------------------------- the client


class Answer(Exception):
    """A request that did not get the answer it should have; `lost` when it got none."""

    def __init__(self, why, lost=False):
        super().__init__(why)
        self.lost = lost


class Client:
    def __init__(self, url, timeout):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port or 80, u.path or "/"
        self.timeout = timeout
        self.conn = None
        self.next_id = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post(self, message, headers):
        """POSTs one JSON-RPC message; returns (status, response headers, the answer or None)."""
        body = json.dumps(message).encode()
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers}
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request("POST", self.path, body, h)
            r = self.conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Answer(f"no answer: {type(e).__name__}: {e}", lost=True) from None
        if "id" not in message:
            return r.status, r, None
        return r.status, r, self.answer_in(r.getheader("Content-Type", ""), data, message["id"], r.status)

    @staticmethod
    def answer_in(ctype, data, rid, status):
        """The JSON-RPC answer to request rid in a JSON or SSE body."""
        messages = []
        text = data.decode("utf-8", "replace")
        if ctype.startswith("text/event-stream"):
            for event in text.replace("\r\n", "\n").split("\n\n"):
                payload = "\n".join(l[5:].lstrip(" ") for l in event.split("\n") if l.startswith("data:"))
                if payload.strip():
                    try:
                        messages.append(json.loads(payload))
                    except ValueError:
                        pass
        else:
            try:
                messages.append(json.loads(text))
            except ValueError:
                raise Answer(f"HTTP {status}, not JSON: {text[:120]!r}", lost=True) from None
        for m in messages:
            if isinstance(m, dict) and m.get("id") == rid and ("result" in m or "error" in m):
                return m
        raise Answer(f"HTTP {status}, no answer to request {rid} in the body: {text[:120]!r}", lost=True)

    def delete(self, sid):
        """Closes session sid; returns the HTTP status."""
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request("DELETE", self.path, headers={"Mcp-Session-Id": sid})
            r = self.conn.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Answer(f"DELETE: no answer: {type(e).__name__}: {e}", lost=True) from None

    def request(self, method, params, headers):
        self.next_id += 1
        status, r, m = self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}, headers)
        return status, r, m


def check_call(m, backend, text):
    """Raises Answer unless m is the echo of text by backend."""
    if "error" in m:
        raise Answer(f"error {m['error'].get('code')}: {m['error'].get('message', '')[:160]}")
    result = m["result"]
    content = result.get("content") or [{}]
    got = content[0].get("text", "")
    if result.get("isError"):
        raise Answer(f"isError: {got[:160]}")
    if got != f"{backend}: {text}":
        raise Answer(f"wrong answer: {got[:160]!r} for {backend}: {text!r}")


# ---------------------------------------------------------------- the run


class Soak:
    def __init__(self, args):
        self.a = args
        self.healthy = args.healthy.split(",")
        self.victim = args.victim
        self.lock = threading.Lock()
        self.ok = Counter()
        self.failed = Counter()
        self.kinds = defaultdict(Counter)  # backend -> Counter of error kinds
        self.problems = []  # (time, what) of every failure that fails the run
        self.sessions = Counter()
        self.kills = 0
        self.kill_misses = 0
        self.load = threading.Event()  # set while workers and the killer run
        self.stop = threading.Event()  # set at the end
        self.start = time.monotonic()
        self.samples = []  # (t, rss, fds, children, threads)
        self.mux_died = False
        self.active = 0  # workers in a session or batch

    def t(self):
        return time.monotonic() - self.start

    def problem(self, what):
        with self.lock:
            self.problems.append((self.t(), what))
            if len(self.problems) <= self.a.show:
                log(f"  ! {self.t():6.1f}s {what}")

    def record(self, backend, era, error=None):
        with self.lock:
            if error is None:
                self.ok[backend] += 1
                return
            self.failed[backend] += 1
            self.kinds[backend][str(error)[:70]] += 1
        if backend != self.victim or error.lost:
            self.problem(f"{era} call to {backend}: {error}")

    # -- workers

    def call(self, client, era, headers, backend):
        text = f"{random.getrandbits(48):012x}"
        args = {"text": text, "delay_ms": random.choice((0, 0, 1, 5, 20))}
        params = {"name": f"{backend}__echo", "arguments": args}
        h = dict(headers)
        if era == MODERN:
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
            h.update({"Mcp-Method": "tools/call", "Mcp-Name": params["name"]})
        try:
            _, _, m = client.request("tools/call", params, h)
            check_call(m, backend, text)
        except Answer as e:
            self.record(backend, era, e)
        else:
            self.record(backend, era)

    def pick(self):
        if random.random() < self.a.victim_share:
            return self.victim
        return random.choice(self.healthy)

    def legacy_session(self, client):
        try:
            status, r, m = client.request(
                "initialize",
                {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": CLIENT_INFO},
                {},
            )
            if "error" in m:
                raise Answer(f"initialize: {m['error']}")
            sid = r.getheader("Mcp-Session-Id")
            if not sid:
                raise Answer(f"initialize: HTTP {status} without Mcp-Session-Id")
            h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY}
            status, _, _ = client.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, h)
            if status != 202:
                raise Answer(f"notifications/initialized: HTTP {status}")
        except Answer as e:
            with self.lock:
                self.sessions["failed to open"] += 1
            self.problem(f"session: {e}")
            return
        with self.lock:
            self.sessions["opened"] += 1
        try:
            if random.random() < 0.2:
                _, _, m = client.request("tools/list", {}, h)
                names = {t["name"] for t in m.get("result", {}).get("tools", [])}
                missing = [b for b in self.healthy if f"{b}__echo" not in names]
                if "error" in m or missing:
                    raise Answer(f"tools/list: {m.get('error') or f'missing {missing}'}")
            for _ in range(random.randint(1, self.a.calls_per_session)):
                self.call(client, LEGACY, h, self.pick())
        except Answer as e:
            self.problem(f"session: {e}")
        # Abandon it now and then (it ends after listen.session_idle_timeout),
        # otherwise close it: DELETE with the session id.
        if random.random() < self.a.abandon_share:
            with self.lock:
                self.sessions["abandoned"] += 1
            return
        try:
            status = client.delete(sid)
            if status not in (200, 202, 204):
                raise Answer(f"DELETE: HTTP {status}")
            with self.lock:
                self.sessions["closed"] += 1
        except Answer as e:
            self.problem(f"session {e}")

    def modern_calls(self, client):
        h = {"MCP-Protocol-Version": MODERN}
        for _ in range(random.randint(1, self.a.calls_per_session)):
            self.call(client, MODERN, h, self.pick())
        with self.lock:
            self.sessions["stateless batches"] += 1

    def worker(self):
        while not self.stop.is_set():
            if not self.load.wait(0.2):
                continue
            with self.lock:
                if not self.load.is_set():
                    continue
                self.active += 1
            client = Client(self.a.url, self.a.timeout)
            try:
                if random.random() < self.a.modern_share:
                    self.modern_calls(client)
                else:
                    self.legacy_session(client)
            finally:
                client.close()
                with self.lock:
                    self.active -= 1

    def killer(self):
        while not self.stop.wait(self.a.kill_every):
            if not self.load.is_set():
                continue
            pid = backend_pid(self.a.pid, self.victim)
            if pid is None:
                self.kill_misses += 1  # still restarting
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                self.kills += 1
            except OSError:
                self.kill_misses += 1

    # -- sampling

    def sample(self):
        st = proc_status(self.a.pid)
        if st is None:
            return None
        s = (self.t(), st[0], fd_count(self.a.pid), len(children(self.a.pid)), st[1])
        self.samples.append(s)
        return s

    def sampler(self):
        last_calls, n = 0, 0
        while not self.stop.wait(1.0):
            s = self.sample()
            if s is None:
                self.mux_died = True
                self.problem("mcpmux died")
                self.stop.set()
                self.load.set()  # wake anything waiting
                return
            n += 1
            if n % self.a.print_every:
                continue
            with self.lock:
                calls = sum(self.ok.values()) + sum(self.failed.values())
                bad = len(self.problems)
                vf = self.failed[self.victim]
            t, rss, fds, kids, threads = s
            log(
                f"{t:7.1f}s rss={rss / 1024:6.1f}MiB fds={fds:4d} children={kids} threads={threads:3d} "
                f"calls={calls:7d} (+{(calls - last_calls) / self.a.print_every:5.0f}/s) "
                f"victim-failed={vf:5d} kills={self.kills:4d} problems={bad}"
                f"{'' if self.load.is_set() else '  (paused)'}"
            )
            last_calls = calls

    def quiet(self, label):
        """Stops the load, waits until every backend is up and answering and
        the figures settle; returns (rss KiB, fds, children) then."""
        self.load.clear()
        # Workers finish their session (calls answer within --timeout).
        deadline = time.monotonic() + self.a.timeout + 5
        while time.monotonic() < deadline and self.active:
            time.sleep(0.1)
        if self.active:
            self.problem(f"{label}: {self.active} workers still busy after {self.a.timeout + 5:.0f}s")
        # The victim is back: a call to it is answered.
        client = Client(self.a.url, self.a.timeout)
        deadline = time.monotonic() + 30
        up = False
        while time.monotonic() < deadline and not self.mux_died:
            try:
                _, r, m = client.request(
                    "initialize", {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": CLIENT_INFO}, {}
                )
                sid = r.getheader("Mcp-Session-Id")
                h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY}
                client.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, h)
                try:
                    text = "up?"
                    _, _, m = client.request(
                        "tools/call", {"name": f"{self.victim}__echo", "arguments": {"text": text}}, h
                    )
                    check_call(m, self.victim, text)
                    up = True
                except Answer:
                    pass
                client.delete(sid)
            except (Answer, KeyError, TypeError):
                pass
            client.close()
            if up:
                break
            time.sleep(0.5)
        if not up:
            self.problem(f"{label}: the victim backend did not come back within 30 s")
        # Let fds and children settle: the best (lowest) figures within --settle seconds.
        best = None
        deadline = time.monotonic() + self.a.settle
        while True:
            st = proc_status(self.a.pid)
            if st is None:
                self.mux_died = True
                break
            now = (st[0], fd_count(self.a.pid), len(children(self.a.pid)))
            best = now if best is None else (now[0], min(best[1], now[1]), min(best[2], now[2]))
            if time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        return best

    def run(self):
        a = self.a
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(a.workers)]
        threads += [threading.Thread(target=self.killer, daemon=True)]
        sampler = threading.Thread(target=self.sampler, daemon=True)
        for th in threads + [sampler]:
            th.start()
        idle = self.quiet("start")
        if self.mux_died or idle is None:
            self.stop.set()
            return self.verdict(None, None, None)
        log(
            f"idle before load: rss={idle[0] / 1024:.1f}MiB fds={idle[1]} children={idle[2]}; "
            f"warm-up {a.warmup:.0f}s, then {a.duration - a.warmup:.0f}s measured, {a.workers} workers"
        )
        self.load.set()
        self.stop.wait(a.warmup)
        base = self.quiet("after warm-up") if not self.mux_died else None
        if base:
            log(f"baseline after warm-up: rss={base[0] / 1024:.1f}MiB fds={base[1]} children={base[2]}")
            self.measured_from = self.t()
            self.load.set()
            self.stop.wait(a.duration - a.warmup)
        end = self.quiet("after the load") if not self.mux_died else None
        self.stop.set()
        self.load.set()
        for th in threads:
            th.join(a.timeout + 5)
        return self.verdict(idle, base, end)

    def verdict(self, idle, base, end):
        a = self.a
        log("")
        log("== soak summary ==")
        width = max(len(b) for b in self.healthy + [self.victim])
        for b in self.healthy + [self.victim]:
            role = "victim " if b == self.victim else "healthy"
            log(f"  {b:<{width}} ({role}) calls ok {self.ok[b]:7d}  failed {self.failed[b]:6d}")
            for kind, n in self.kinds[b].most_common(3):
                log(f"      {n:6d} x {kind}")
        log(
            f"  sessions opened {self.sessions['opened']}, closed {self.sessions['closed']}, "
            f"abandoned {self.sessions['abandoned']}, "
            f"stateless 2026-07-28 batches {self.sessions['stateless batches']}; "
            f"victim killed {self.kills} times ({self.kill_misses} times it was still restarting)"
        )
        healthy_failed = sum(self.failed[b] for b in self.healthy)
        fails = []
        log(f"  failed calls on healthy backends: {healthy_failed}")
        if self.problems:
            fails.append(f"{len(self.problems)} problems (failed or lost calls, sessions, mcpmux)")
            for t, what in self.problems[: a.show]:
                log(f"    {t:6.1f}s {what}")
            if len(self.problems) > a.show:
                log(f"    ... and {len(self.problems) - a.show} more")
        if self.mux_died or base is None or end is None:
            fails.append("mcpmux died")
        else:
            growth = (end[0] - base[0]) / base[0] * 100
            under = [s[1] for s in self.samples if s[0] >= getattr(self, "measured_from", 0)]
            peak = max(under) if under else end[0]
            log(
                f"  RSS: idle {idle[0] / 1024:.1f}MiB before load, {base[0] / 1024:.1f}MiB after warm-up, "
                f"{end[0] / 1024:.1f}MiB at the end ({growth:+.1f}%, limit +{a.max_rss_growth:g}%); "
                f"peak under load {peak / 1024:.1f}MiB"
            )
            log(f"  fds: {idle[1]} before load, {base[1]} after warm-up, {end[1]} at the end")
            log(f"  children: {idle[2]} before load, {base[2]} after warm-up, {end[2]} at the end")
            if growth > a.max_rss_growth:
                fails.append(f"RSS grew {growth:.1f}% after warm-up")
            if end[1] > base[1]:
                fails.append(f"fds did not return to baseline ({end[1]} > {base[1]})")
            if end[2] != base[2]:
                fails.append(f"children did not return to baseline ({end[2]} != {base[2]})")
        log(f"  ran {self.t():.0f}s")
        if fails:
            log("FAIL: " + "; ".join(fails))
            return 1
        log("PASS")
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="mcpmux's MCP endpoint")
    p.add_argument("--pid", type=int, required=True, help="mcpmux's process id")
    p.add_argument("--healthy", required=True, help="comma-separated backend names never killed")
    p.add_argument("--victim", required=True, help="the backend killed every --kill-every seconds")
    p.add_argument("--duration", type=float, default=60, help="seconds of load, warm-up included")
    p.add_argument("--warmup", type=float, help="seconds of warm-up (default: 20%% of duration, 10 s to 5 min)")
    p.add_argument("--workers", type=int, default=16, help="concurrent clients (default 16)")
    p.add_argument("--calls-per-session", type=int, default=8, help="most calls in a session or batch (default 8)")
    p.add_argument("--victim-share", type=float, default=0.2, help="share of calls that go to the victim (default 0.2)")
    p.add_argument("--modern-share", type=float, default=0.25, help="share of stateless 2026-07-28 batches (default 0.25)")
    p.add_argument("--abandon-share", type=float, default=0.1, help="share of sessions left without DELETE, to expire (default 0.1)")
    p.add_argument("--kill-every", type=float, default=4.0, help="seconds between kills of the victim (default 4)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take (default 30)")
    p.add_argument("--settle", type=float, default=5.0, help="seconds fds and children get to settle (default 5)")
    p.add_argument("--max-rss-growth", type=float, default=10.0, help="percent of RSS growth that fails the run (default 10)")
    p.add_argument("--print-every", type=int, help="print every N samples (default 1, 10 past 5 min)")
    p.add_argument("--show", type=int, default=20, help="problems printed in full (default 20)")
    a = p.parse_args()
    if a.warmup is None:
        a.warmup = min(max(a.duration * 0.2, 10), 300)
    a.warmup = min(a.warmup, a.duration / 2)
    if a.print_every is None:
        a.print_every = 1 if a.duration <= 300 else 10
    sys.exit(Soak(a).run())


if __name__ == "__main__":
    main()
