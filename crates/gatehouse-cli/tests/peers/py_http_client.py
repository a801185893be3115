"""A real MCP client, the Python SDK's (PyPI `mcp` 2.x, its Streamable HTTP
client), talking to Gatehouse's local HTTP gateway for
crates/gatehouse-cli/tests/gateway.rs.

    python py_http_client.py MODE URL

The bearer token is GATEHOUSE_GW_TOKEN (none when unset); GATEHOUSE_GW_ORIGIN,
when set, is sent as the Origin header. MODE is `full` (initialize,
tools/list, tools/call, progress, cancellation, elicitation) or `connect`
(connect, list tools, report how it went). Results are JSON, one object per
line.
"""

import json
import os
import sys
import time
from importlib.metadata import version

import anyio

from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def say(obj):
    print(json.dumps(obj), flush=True)


def text(result):
    return next((c.text for c in result.content if c.type == "text"), None)


def leaves(error):
    """The messages of the exceptions inside (nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [m for e in error.exceptions for m in leaves(e)]
    return [f"{type(error).__name__}: {error}"]


async def elicit(_context, params):
    return types.ElicitResult(action="accept", content={"name": f"Ada (asked: {params.message})"})


async def sample(_context, params):
    asked = params.messages[0].content.text
    return types.CreateMessageResult(
        role="assistant", model="test-model", content=types.TextContent(type="text", text=f"hello (asked: {asked})")
    )


async def main(mode, url):
    headers = {}
    if os.environ.get("GATEHOUSE_GW_TOKEN"):
        headers["Authorization"] = f"Bearer {os.environ['GATEHOUSE_GW_TOKEN']}"
    if os.environ.get("GATEHOUSE_GW_ORIGIN"):
        headers["Origin"] = os.environ["GATEHOUSE_GW_ORIGIN"]
    http = create_mcp_http_client(headers=headers)
    started = time.monotonic()
    client = Client(streamable_http_client(url, http_client=http), elicitation_callback=elicit, sampling_callback=sample)
    try:
        await client.__aenter__()
    except BaseException as error:  # noqa: BLE001 - the test wants whatever it was
        say({"connected": False, "error": "; ".join(leaves(error)), "ms": int((time.monotonic() - started) * 1000)})
        await http.aclose()
        return 0
    try:
        if mode == "connect":
            try:
                tools = sorted(t.name for t in (await client.list_tools()).tools)
                say({"connected": True, "tools": tools, "ms": int((time.monotonic() - started) * 1000)})
            except BaseException as error:  # noqa: BLE001
                say({"connected": True, "error": "; ".join(leaves(error))})
            return 0

        out = {"sdk": version("mcp"), "server": client.server_info.name if client.server_info else None}
        listed = (await client.list_tools()).tools
        out["tools"] = sorted(t.name for t in listed)
        out["echo"] = text(await client.call_tool("echo", {"text": "hello through the gateway"}))
        # A structured output that is not an object (MCP 2026-07-28), to a
        # client of an earlier revision: no output schema, the value as text.
        primes = await client.call_tool("primes", {"count": 4})
        out["primes"] = {
            "schema": next((t.output_schema for t in listed if t.name == "primes"), None),
            "text": text(primes),
            "structured": primes.structured_content,
        }

        progress = []

        async def on_progress(value, total, message):
            progress.append([value, total, message])

        out["count"] = text(await client.call_tool("count", {"steps": 3}, progress_callback=on_progress))
        out["progress"] = progress

        wait_started = time.monotonic()
        with anyio.move_on_after(0.5) as scope:
            result = await client.call_tool("wait_for_cancel", {})
            out["cancel"] = {"error": None, "result": text(result)}
        if scope.cancelled_caught:
            out["cancel"] = {"error": "cancelled", "ms": int((time.monotonic() - wait_started) * 1000)}

        out["elicited"] = text(await client.call_tool("ask_name", {}))
        out["sampled"] = text(await client.call_tool("ask_model", {}))
        out["after"] = text(await client.call_tool("add", {"a": 2, "b": 3}))
        say(out)
        return 0
    finally:
        await client.__aexit__(None, None, None)
        await http.aclose()


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1], sys.argv[2]))
