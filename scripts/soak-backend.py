#!/usr/bin/env python3
"""The backend scripts/soak puts behind mcpmux: a dependency-free MCP server
on stdio (newline-delimited JSON-RPC) speaking 2025-11-25.

It answers `server/discover` with "method not found" (-32601), as a
handshake-era server does, so mcpmux falls back to `initialize`. Its one
tool, `echo`, returns its `text` argument after `delay_ms` milliseconds
(each call answered on a thread of its own, so calls overlap).

Usage: soak-backend.py --name NAME
"""

import json
import sys
import threading
import time

PROTOCOL = "2025-11-25"
name = sys.argv[sys.argv.index("--name") + 1] if "--name" in sys.argv else "soak"
out_lock = threading.Lock()

ECHO = {
    "name": "echo",
    "description": "Returns its text after delay_ms milliseconds.",
    "inputSchema": {
        "type": "object",
        "properties": {"text": {"type": "string"}, "delay_ms": {"type": "integer"}},
        "required": ["text"],
    },
}


def send(message):
    line = json.dumps(message, separators=(",", ":")) + "\n"
    with out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def answer(rid, result=None, error=None):
    if error is not None:
        send({"jsonrpc": "2.0", "id": rid, "error": error})
    else:
        send({"jsonrpc": "2.0", "id": rid, "result": result})


def call(rid, params):
    if params.get("name") != "echo":
        answer(rid, error={"code": -32602, "message": f"unknown tool {params.get('name')!r}"})
        return
    args = params.get("arguments") or {}
    time.sleep(min(int(args.get("delay_ms") or 0), 10_000) / 1000)
    text = f"{name}: {args.get('text', '')}"
    answer(rid, {"content": [{"type": "text", "text": text}], "isError": False})


def handle(message):
    method, rid = message.get("method"), message.get("id")
    if rid is None:
        return  # a notification (initialized, cancelled, ...) or an answer
    params = message.get("params") or {}
    if method == "initialize":
        answer(
            rid,
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": f"soak-{name}", "version": "1"},
            },
        )
    elif method == "ping":
        answer(rid, {})
    elif method == "tools/list":
        answer(rid, {"tools": [ECHO]})
    elif method == "tools/call":
        threading.Thread(target=call, args=(rid, params), daemon=True).start()
    else:  # server/discover among them
        answer(rid, error={"code": -32601, "message": f"method not found: {method}"})


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except ValueError:
            send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            continue
        if isinstance(message, dict):
            handle(message)


if __name__ == "__main__":
    main()
