"""A backend MCP server written with the official Python SDK's MCPServer.

The interop matrix (tests/e2e/matrix.rs) puts it behind mcpmux, over stdio
and over streamable HTTP, so mcpmux's backends include a server nobody on
this project wrote. It offers the tools every matrix cell needs: `echo`,
`progress` (reports each step with `ctx.report_progress`), `sleep` (records
its cancellation in the file named by MCPMUX_TEST_EVENTS), `add_tool` (adds
a tool with `mcp.add_tool`, which sends no notification) and `fail` (raises a
JSON-RPC error, not an isError result), plus a generated catalog t000...
Like the rmcp test backend (backend.rs) it also offers the prompt `greet`
(a greeting and an embedded `test://<name>/static`), the resource
`test://<name>/static`, the template `test://<name>/item/{id}` ("item <id> of
<name>") and completions for both (`alice`/`albert`/`bob`, `1`/`12`/`2`).
Usage:
    py_backend.py --name NAME [--tools N]                 # stdio
    py_backend.py --name NAME [--tools N] --http --port P # streamable HTTP
"""

import argparse
import asyncio
import os

from mcp import MCPError
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp_types import (
    INVALID_PARAMS,
    Completion,
    EmbeddedResource,
    PromptReference,
    ResourceTemplateReference,
    TextResourceContents,
)


def event(line: str) -> None:
    """Appends one line to the events file the test reads."""
    path = os.environ.get("MCPMUX_TEST_EVENTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def build(name: str, tools: int) -> MCPServer:
    mcp = MCPServer(name, instructions=f"Python backend {name} is for tests.")

    @mcp.tool(description=f"echo of {name}")
    def echo(text: str = "") -> str:
        return f"{name}: {text}"

    @mcp.tool(description=f"progress of {name}")
    async def progress(ctx: Context, steps: int = 3, ms: int = 20) -> str:
        for i in range(1, steps + 1):
            await ctx.report_progress(i, steps, f"step {i}")
            await asyncio.sleep(ms / 1000)
        return f"{name}: {steps} steps"

    @mcp.tool(description=f"sleep of {name}")
    async def sleep(ms: int = 60000, tag: str = "") -> str:
        try:
            await asyncio.sleep(ms / 1000)
        except asyncio.CancelledError:
            event(f"cancelled {name} {tag}")
            raise
        return f"{name}: slept"

    @mcp.tool(description=f"fail of {name}")
    def fail() -> str:
        raise MCPError(INVALID_PARAMS, f"{name} failed on purpose")

    @mcp.tool(description=f"add_tool of {name}")
    def add_tool(name: str = "added") -> str:
        backend = mcp.name

        def added() -> str:
            return f"{backend}: {name}"

        mcp.add_tool(added, name=name, description="added at run time")
        return "added"

    static = f"test://{name}/static"
    template = f"test://{name}/item/{{id}}"

    @mcp.prompt(name="greet", description=f"A greeting from {name}")
    def greet(who: str = "nobody") -> list[UserMessage]:
        embedded = EmbeddedResource(type="resource", resource=TextResourceContents(uri=static, text="embedded"))
        return [UserMessage(f"Hello {who} from {name}"), UserMessage(embedded)]

    @mcp.resource(static, name="static")
    def static_resource() -> str:
        return f"static of {name}"

    @mcp.resource(template, name="item")
    def item(id: str) -> str:
        return f"item {id} of {name}"

    @mcp.completion()
    async def complete(ref, argument, context) -> Completion | None:
        if isinstance(ref, PromptReference) and ref.name == "greet":
            candidates = ["alice", "albert", "bob"]
        elif isinstance(ref, ResourceTemplateReference) and ref.uri == template:
            candidates = ["1", "12", "2"]
        else:
            raise MCPError(INVALID_PARAMS, "nothing to complete")
        return Completion(values=[c for c in candidates if c.startswith(argument.value)])

    for i in range(tools):
        mcp.add_tool(generated_tool(name, f"t{i:03}"), name=f"t{i:03}", description="generated")
    return mcp


def generated_tool(backend: str, tool: str):
    """A tool without arguments that answers with its own name."""

    def generated() -> str:
        return f"{backend}: {tool}"

    return generated


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="py")
    parser.add_argument("--tools", type=int, default=0)
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    mcp = build(args.name, args.tools)
    if args.http:
        mcp.run("streamable-http", host="127.0.0.1", port=args.port)
    else:
        mcp.run()


if __name__ == "__main__":
    main()
