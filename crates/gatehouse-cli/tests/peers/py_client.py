"""A real MCP client, the Python SDK's (PyPI `mcp` 2.x), driving `gatehouse
proxy` over stdio for crates/gatehouse-cli/tests/proxy.rs.

    python py_client.py MODE GATEHOUSE [ARGS...]

MODE is `full` (initialize, tools/list, tools/call, progress, cancellation,
elicitation, sampling, roots), `refused` (connecting should fail: report how) or `reconnect`
(a call, then another after a line arrives on stdin). Results are JSON, one
object per line.
"""

import json
import os
import sys
import time
from importlib.metadata import version

import anyio

from mcp import Client, StdioServerParameters, types


def say(obj):
    print(json.dumps(obj), flush=True)


def text(result):
    return next((c.text for c in result.content if c.type == "text"), None)


def leaves(error):
    """The messages of the exceptions inside (nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [m for e in error.exceptions for m in leaves(e)]
    return [str(error)]


async def elicit(_context, params):
    return types.ElicitResult(action="accept", content={"name": f"Ada (asked: {params.message})"})


async def sample(_context, params):
    asked = params.messages[0].content.text
    return types.CreateMessageResult(
        role="assistant", model="test-model", content=types.TextContent(type="text", text=f"hello (asked: {asked})")
    )


async def roots(_context):
    return types.ListRootsResult(roots=[types.Root(uri="file:///home/ada/project", name="project")])


async def main(mode, command, args):
    server = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    started = time.monotonic()
    client = Client(
        server,
        client_info=types.Implementation(name="py-sdk-proxy-test", version=version("mcp")),
        elicitation_callback=elicit,
        sampling_callback=sample,
        list_roots_callback=roots,
    )
    try:
        await client.__aenter__()
    except BaseException as error:  # noqa: BLE001 - the test wants whatever it was
        message = "; ".join(leaves(error))
        say({"connected": False, "error": message, "ms": int((time.monotonic() - started) * 1000)})
        return 0 if mode == "refused" else 1
    try:
        if mode == "refused":
            say({"connected": True})
            return 1
        if mode == "reconnect":
            first = await client.call_tool("echo", {"text": "before"})
            say({"step": "first", "echo": text(first)})
            await anyio.to_thread.run_sync(sys.stdin.readline)
            try:
                second = await client.call_tool("echo", {"text": "after"})
                say({"step": "second", "echo": text(second)})
            except Exception as error:  # noqa: BLE001
                say({"step": "second", "error": str(error)})
            return 0

        out = {"sdk": version("mcp"), "server": client.server_info.name if client.server_info else None}
        listed = (await client.list_tools()).tools
        out["tools"] = sorted(t.name for t in listed)
        out["echo"] = text(await client.call_tool("echo", {"text": "hello through the proxy"}))
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
        out["roots"] = text(await client.call_tool("ask_roots", {}))
        out["after"] = text(await client.call_tool("add", {"a": 2, "b": 3}))
        say(out)
        return 0
    finally:
        await client.__aexit__(None, None, None)


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3:]))
