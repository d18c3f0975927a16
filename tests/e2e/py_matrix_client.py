"""The official Python SDK's Client as one row of the interop matrix.

tests/e2e/matrix.rs runs it against one mcpmux (streamable HTTP) in front of
every backend of the matrix. It reads a JSON spec on stdin (the client mode,
mcpmux's URL, the events file, and per backend the calls that make up each
cell), runs every cell with bounded waits, and prints one JSON line of what
it observed per cell; it asserts nothing itself: the Rust side does.
Usage:
    py_matrix_client.py < spec.json
Spec: {"mode": "legacy"|"auto", "url": URL, "events": PATH, "wait_s": S,
       "startup_s": S, "ready": [names that must be listed first],
       "backends": [{"name": N, "call": CALL, "progress": CALL, "cancel": CALL,
                     "list_change": CALL, "error": CALL, "prompt": PROMPT,
                     "resource": RESOURCE, "complete": COMPLETE, "ask": CALL}]}
where CALL is {"tool": NAME, "args": {...}} (list_change also has "added",
cancel also has "line"), PROMPT is {"name": N, "args": {...}}, RESOURCE is
{"resource": URI, "template": URI_TEMPLATE, "read": URI} and COMPLETE is
{"prompt": N, "prompt_arg": {"name", "value"}, "template": URI_TEMPLATE,
"template_arg": {"name", "value"}}; a missing cell is not run.
The client declares sampling (it answers with the prompt's text reversed)
and elicitation (it accepts with {"name": "tester"}), like the rmcp test
client (harness.rs's Recorder).
"""

import asyncio
import json
import sys
import time
from typing import Any

import mcp_types as types
from mcp import Client, MCPError
from mcp.client.subscriptions import ListenNotSupportedError

PAGE_CAP = 100


def describe(e: BaseException) -> str:
    """One line naming the exception, short enough to read in a test report."""
    text = " ".join(f"{type(e).__name__}: {e}".split())
    return text[:600]


class Observer:
    """Counts the tools/list_changed notifications the client is told of."""

    def __init__(self) -> None:
        self.changes = 0
        self.listen_error: str | None = None

    async def message_handler(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.changes += 1

    async def listen(self, client: Client, ready: asyncio.Event) -> None:
        """On 2026-07-28 list changes arrive only on a subscriptions/listen stream."""
        try:
            async with client.listen(tools_list_changed=True) as sub:
                ready.set()
                async for _ in sub:
                    self.changes += 1
        except ListenNotSupportedError:
            pass
        except Exception as e:  # noqa: BLE001 - reported, the Rust side judges
            self.listen_error = describe(e)
        finally:
            ready.set()


async def list_pages(client: Client) -> list[list[str]]:
    """Every page of tools, by following the cursor; a cursor the listing's
    change invalidated (-32602 on a later page) means listing again from the
    start, as the spec says, up to three times."""
    for attempt in range(3):
        pages: list[list[str]] = []
        cursor = None
        try:
            while len(pages) < PAGE_CAP:
                page = await client.list_tools(cursor=cursor)
                pages.append([t.name for t in page.tools])
                cursor = page.next_cursor
                if not cursor:
                    break
            return pages
        except MCPError as e:
            if cursor is None or e.code != types.INVALID_PARAMS or attempt == 2:
                raise
    raise AssertionError("unreachable")


def names_of(pages: list[list[str]]) -> set[str]:
    return {n for page in pages for n in page}


def text_of(result: types.CallToolResult) -> str:
    first = result.content[0] if result.content else None
    return first.text if isinstance(first, types.TextContent) else ""


async def cell_call(client: Client, c: dict) -> dict:
    r = await client.call_tool(c["tool"], c["args"])
    return {"text": text_of(r), "is_error": bool(r.is_error)}


async def cell_progress(client: Client, c: dict, wait_s: float) -> dict:
    seen: list[list[float | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append([value, total])

    r = await client.call_tool(c["tool"], c["args"], progress_callback=on_progress)
    # Progress notifications may trail the result.
    deadline = time.monotonic() + wait_s
    while len(seen) < c["steps"] and time.monotonic() < deadline:
        await asyncio.sleep(0.025)
    await asyncio.sleep(0.1)  # and a late extra one would show
    return {
        "values": [s[0] for s in seen],
        "totals": [s[1] for s in seen],
        "text": text_of(r),
        "is_error": bool(r.is_error),
    }


async def cell_cancel(client: Client, c: dict, events: str, wait_s: float) -> dict:
    call = asyncio.ensure_future(client.call_tool(c["tool"], c["args"]))
    await asyncio.sleep(0.3)
    early = call.done()
    call.cancel()
    outcome = "cancelled"
    try:
        await call
        outcome = "completed"
    except asyncio.CancelledError:
        pass
    except Exception as e:  # noqa: BLE001 - reported, the Rust side judges
        outcome = describe(e)
    # Wait, still connected, for the backend to record the cancellation.
    deadline = time.monotonic() + wait_s
    content = ""
    while time.monotonic() < deadline:
        try:
            with open(events, encoding="utf-8") as f:
                content = f.read()
        except FileNotFoundError:
            content = ""
        if c["line"] in content.splitlines():
            break
        await asyncio.sleep(0.025)
    return {"events": content, "outcome": outcome, "done_before_cancel": early}


async def cell_list_change(client: Client, c: dict, observer: Observer, wait_s: float) -> dict:
    await asyncio.sleep(0.3)  # let earlier notifications settle before counting
    before = observer.changes
    added = await client.call_tool(c["tool"], c["args"])
    out: dict[str, Any] = {"add_text": text_of(added), "add_is_error": bool(added.is_error), "listed": False}
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if c["added"] in names_of(await list_pages(client)):
            out["listed"] = True
            break
        await asyncio.sleep(0.1)
    if out["listed"]:
        r = await client.call_tool(c["added"], {})
        out["call_text"] = text_of(r)
        out["call_is_error"] = bool(r.is_error)
    while observer.changes <= before and time.monotonic() < deadline:
        await asyncio.sleep(0.025)
    out["notified"] = observer.changes - before
    return out


async def cell_error(client: Client, c: dict) -> dict:
    try:
        r = await client.call_tool(c["tool"], c["args"])
    except MCPError as e:
        return {"code": e.code, "message": e.message}
    return {"unexpected_result": text_of(r), "is_error": bool(r.is_error)}


ASKED: dict[str, list[str]] = {"sampled": [], "elicited": []}
"""The id of each sampling and elicitation request the callbacks answered:
a JSON-RPC id for a server-to-client request, an input-request key when the
SDK drives an input-required result."""


async def sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    """Answers sampling with the prompt's text, reversed."""
    ASKED["sampled"].append(str(context.request_id))
    prompt = ""
    for m in params.messages:
        blocks = m.content if isinstance(m.content, list) else [m.content]
        prompt += "".join(b.text for b in blocks if isinstance(b, types.TextContent))
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text=prompt[::-1]), model="test-model"
    )


async def elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    """Accepts a form elicitation with a name."""
    ASKED["elicited"].append(str(context.request_id))
    return types.ElicitResult(action="accept", content={"name": "tester"})


async def all_pages(fetch: Any, items: str) -> list[Any]:
    """Every item of a paginated listing (bypassing the client's cache)."""
    out: list[Any] = []
    cursor = None
    for _ in range(PAGE_CAP):
        page = await fetch(cursor=cursor, cache_mode="bypass")
        out.extend(getattr(page, items))
        cursor = page.next_cursor
        if not cursor:
            break
    return out


async def cell_prompt(client: Client, c: dict) -> dict:
    listed = [p.name for p in await all_pages(client.list_prompts, "prompts")]
    r = await client.get_prompt(c["name"], c["args"])
    messages = []
    for m in r.messages:
        if isinstance(m.content, types.TextContent):
            messages.append({"text": m.content.text})
        elif isinstance(m.content, types.EmbeddedResource):
            messages.append({"resource": m.content.resource.uri})
        else:
            messages.append({"other": m.content.type})
    return {"listed": c["name"] in listed, "messages": messages}


async def cell_resource(client: Client, c: dict) -> dict:
    resources = [r.uri for r in await all_pages(client.list_resources, "resources")]
    templates = [t.uri_template for t in await all_pages(client.list_resource_templates, "resource_templates")]
    r = await client.read_resource(c["read"], cache_mode="bypass")
    contents = [{"uri": x.uri, "text": getattr(x, "text", None)} for x in r.contents]
    return {
        "resource_listed": c["resource"] in resources,
        "template_listed": c["template"] in templates,
        "contents": contents,
    }


async def cell_complete(client: Client, c: dict) -> dict:
    out: dict[str, Any] = {}
    refs = [
        ("prompt", types.PromptReference(type="ref/prompt", name=c["prompt"]), c["prompt_arg"]),
        ("template", types.ResourceTemplateReference(type="ref/resource", uri=c["template"]), c["template_arg"]),
    ]
    for key, ref, arg in refs:
        try:
            out[key] = (await client.complete(ref, arg)).completion.values
        except MCPError as e:
            out[key] = {"code": e.code, "message": e.message}
    return out


async def cell_ask(client: Client, c: dict) -> dict:
    for asked in ASKED.values():
        asked.clear()
    try:
        r = await client.call_tool(c["tool"], c["args"])
        out: dict[str, Any] = {"text": text_of(r), "is_error": bool(r.is_error)}
    except MCPError as e:
        out = {"code": e.code, "message": e.message}
    return {**out, **{k: list(v) for k, v in ASKED.items()}}


async def guarded(coro: Any, limit: float) -> dict:
    """Runs one cell; any exception (a pydantic ValidationError among them) is its result."""
    began = time.monotonic()
    try:
        out = await asyncio.wait_for(coro, limit)
    except asyncio.TimeoutError:
        out = {"exception": f"cell did not finish within {limit}s"}
    except Exception as e:  # noqa: BLE001 - reported, the Rust side judges
        out = {"exception": describe(e)}
    out["took_s"] = time.monotonic() - began
    return out


async def main() -> None:
    spec = json.load(sys.stdin)
    wait_s = float(spec["wait_s"])
    limit = 4 * wait_s
    observer = Observer()
    out: dict[str, Any] = {"cells": {}}
    async with Client(
        spec["url"],
        mode=spec["mode"],
        message_handler=observer.message_handler,
        sampling_callback=sample,
        elicitation_callback=elicit,
    ) as client:
        out["protocol"] = client.protocol_version
        listening = asyncio.Event()
        listener = asyncio.ensure_future(observer.listen(client, listening))
        await asyncio.wait_for(listening.wait(), wait_s)

        # Until every backend is up, then the listing every catalog cell is judged on.
        deadline = time.monotonic() + float(spec["startup_s"])
        pages: list[list[str]] = []
        while time.monotonic() < deadline:
            try:
                pages = await list_pages(client)
                out.pop("list_error", None)
            except Exception as e:  # noqa: BLE001 - reported, the Rust side judges
                out["list_error"] = describe(e)
            if set(spec["ready"]) <= names_of(pages):
                break
            await asyncio.sleep(0.1)
        out["pages"] = pages

        for b in spec["backends"]:
            cells: dict[str, Any] = {}
            if "call" in b:
                cells["call"] = await guarded(cell_call(client, b["call"]), limit)
            if "progress" in b:
                cells["progress"] = await guarded(cell_progress(client, b["progress"], wait_s), limit)
            if "cancel" in b:
                cells["cancel"] = await guarded(cell_cancel(client, b["cancel"], spec["events"], wait_s), limit)
            if "list_change" in b:
                change = cell_list_change(client, b["list_change"], observer, wait_s)
                cells["list_change"] = await guarded(change, limit)
            if "error" in b:
                cells["error"] = await guarded(cell_error(client, b["error"]), limit)
            if "prompt" in b:
                cells["prompt"] = await guarded(cell_prompt(client, b["prompt"]), limit)
            if "resource" in b:
                cells["resource"] = await guarded(cell_resource(client, b["resource"]), limit)
            if "complete" in b:
                cells["complete"] = await guarded(cell_complete(client, b["complete"]), limit)
            if "ask" in b:
                cells["ask"] = await guarded(cell_ask(client, b["ask"]), limit)
            out["cells"][b["name"]] = cells
        out["listen_error"] = observer.listen_error
        listener.cancel()
    print(json.dumps(out), flush=True)


asyncio.run(main())
