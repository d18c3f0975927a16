"""An MCP client nobody on this project wrote: the official Python SDK.

Run by the e2e tests against mcpmux. Usage:
    python_client.py MODE http URL
    python_client.py MODE stdio MCPMUX_BINARY CONFIG
MODE is "legacy" (2025-11-25, initialize) or "auto" (the SDK default: it
probes server/discover and so speaks 2026-07-28 to mcpmux). It lists every
page of tools, calls one tool and one that reports progress, and prints what
it saw as one line of JSON for the test to check.
"""

import asyncio
import json
import sys

from mcp import Client, StdioServerParameters


async def main() -> None:
    mode, transport = sys.argv[1], sys.argv[2]
    if transport == "http":
        target = sys.argv[3]
    else:
        target = StdioServerParameters(command=sys.argv[3], args=["serve", "-c", sys.argv[4]])
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(target, mode=mode) as client:
        names: list[str] = []
        pages = 0
        cursor = None
        while True:
            page = await client.list_tools(cursor=cursor)
            pages += 1
            names += [t.name for t in page.tools]
            cursor = page.next_cursor
            if not cursor:
                break
        echo = await client.call_tool("alpha__echo", {"text": "from python"})
        await client.call_tool("alpha__progress", {"steps": 3, "ms": 20}, progress_callback=on_progress)
        await asyncio.sleep(0.2)  # progress notifications may trail the result
        server = client.server_info
        print(
            json.dumps(
                {
                    "protocol": client.protocol_version,
                    "server": server.name if server else None,
                    "pages": pages,
                    "tools": names,
                    "echo": echo.content[0].text,
                    "echo_error": bool(echo.is_error),
                    "progress": progress,
                }
            )
        )


asyncio.run(main())
