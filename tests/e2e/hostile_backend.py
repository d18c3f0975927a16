"""A misbehaving MCP backend for the hostile-backend e2e tests: plain
JSON-RPC over stdio with the standard library only, misbehaving in the way
its --mode says. Modes: `mute` never answers anything (not even the
handshake); `noisy` writes lines that are not JSON and answers for ids
nobody asked before each real message; `stubborn` ignores SIGTERM and the
end of its stdin and forks grandchildren that do the same (they stay in its
process group); `normal` misbehaves only when a tool asks it to. Tools:
echo, pid, big (an answer of `bytes` bytes), junk (a `bytes`-long line that
answers nothing, then the real answer), stderr (a `bytes`-long line on
stderr) and flood (`count` progress and log notifications during the call).
"""

import json
import os
import signal
import sys
import time

args = sys.argv[1:]


def flag(name, default=None):
    return args[args.index(name) + 1] if name in args else default


NAME = flag("--name", "hostile")
MODE = flag("--mode", "normal")
out = sys.stdout.buffer
CHUNK = 1 << 20


def write(raw):
    if MODE == "noisy":
        out.write(b"this line is not JSON\n")
        out.write(b'{"jsonrpc":"2.0","id":987654,"result":{"nobody":"asked"}}\n')
        out.write(b'{"jsonrpc":"2.0","id":"stray","error":{"code":-1,"message":"nobody asked"}}\n')
    out.write(raw + b"\n")
    out.flush()


def send(message):
    write(json.dumps(message).encode())


def answer(id, result):
    send({"jsonrpc": "2.0", "id": id, "result": result})


def text(s):
    return {"content": [{"type": "text", "text": s}]}


def long_line(head, size, tail):
    """Writes head, `size` filler bytes and tail as one line, a chunk at a time."""
    out.write(head)
    left = size
    block = b"y" * CHUNK
    while left > 0:
        n = min(left, CHUNK)
        out.write(block[:n])
        left -= n
    out.write(tail + b"\n")
    out.flush()


TOOLS = ["echo", "pid", "big", "junk", "stderr", "flood"]


def call(id, params):
    name = params.get("name")
    arguments = params.get("arguments") or {}
    token = (params.get("_meta") or {}).get("progressToken")
    if name == "echo":
        answer(id, text(f"{NAME}: {arguments.get('text', '')}"))
    elif name == "pid":
        answer(id, text(str(os.getpid())))
    elif name == "big":
        head = b'{"jsonrpc":"2.0","id":' + json.dumps(id).encode() + b',"result":{"content":[{"type":"text","text":"'
        long_line(head, int(arguments["bytes"]), b'"}]}}')
    elif name == "junk":
        head = b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"'
        long_line(head, int(arguments["bytes"]), b'"}}')
        answer(id, text(f"{NAME}: after junk"))
    elif name == "stderr":
        err = sys.stderr.buffer
        left = int(arguments["bytes"])
        while left > 0:
            n = min(left, CHUNK)
            err.write(b"e" * n)
            left -= n
        err.write(b"\n")
        err.flush()
        answer(id, text(f"{NAME}: after stderr"))
    elif name == "flood":
        count = int(arguments.get("count", 100000))
        for i in range(count):
            if token is not None and i % 2 == 0:
                n = {"progressToken": token, "progress": i, "total": count}
                out.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/progress", "params": n}).encode() + b"\n")
            else:
                n = {"level": "info", "logger": NAME, "data": f"flood {i}"}
                out.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/message", "params": n}).encode() + b"\n")
        out.flush()
        answer(id, text(f"{NAME}: flooded {count}"))
    else:
        send({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": f"no tool {name}"}})


def handle(message):
    method = message.get("method")
    id = message.get("id")
    if method is None or (id is None and method.startswith("notifications/")):
        return
    if method == "initialize":
        answer(id, {
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}, "logging": {}},
            "serverInfo": {"name": f"hostile-{NAME}", "version": "1"},
        })
    elif method == "tools/list":
        schema = {"type": "object"}
        answer(id, {"tools": [{"name": t, "description": f"{t} of {NAME}", "inputSchema": schema} for t in TOOLS]})
    elif method == "tools/call":
        call(id, message.get("params") or {})
    elif method in ("ping", "logging/setLevel"):
        answer(id, {})
    elif id is not None:
        send({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": f"method not found: {method}"}})


def stubborn():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for _ in range(2):
        if os.fork() == 0:
            # A grandchild: in the backend's process group, deaf to SIGTERM.
            while True:
                time.sleep(3600)


def main():
    if MODE == "stubborn":
        stubborn()
    for line in sys.stdin.buffer:
        if MODE == "mute":
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            handle(message)
    # End of stdin: a stubborn backend keeps running all the same.
    while MODE in ("stubborn", "mute"):
        time.sleep(3600)


main()
