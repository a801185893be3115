"""An MCP server built on the Python SDK (PyPI `mcp` 2.x), for Gatehouse's
interoperability tests: `python py_server.py PORT [--stateless]`.

Serves Streamable HTTP on 127.0.0.1:PORT/mcp, with sessions (the revisions
with `initialize`) or statelessly (`--stateless`), and prints "ready" once it
listens. Its tools: `greet` (a plain answer) and `ask_name` (asks the client
for a name: an elicitation, which MCP 2026-07-28 turns into an "input
required" result).
"""

import socket
import sys
import threading
import time

from typing import Annotated

from mcp.server.mcpserver import Elicit, MCPServer, Resolve
from mcp.server.elicitation import ElicitationResult
from pydantic import BaseModel

port = int(sys.argv[1])
stateless = "--stateless" in sys.argv[2:]

server = MCPServer("py-peer")


@server.tool()
def greet(name: str) -> str:
    """Greets someone by name."""
    return f"Hello, {name}!"


class Name(BaseModel):
    name: str


def their_name() -> Elicit[Name]:
    return Elicit("What is your name?", Name)


@server.tool()
async def ask_name(answer: Annotated[ElicitationResult[Name], Resolve(their_name)]) -> str:
    """Asks the person for their name and greets them."""
    if answer.action == "accept":
        return f"Hello, {answer.data.name}!"
    return f"no name given ({answer.action})"


def announce_when_listening() -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.05)
            continue
        print("ready", flush=True)
        return


threading.Thread(target=announce_when_listening, daemon=True).start()
server.run(transport="streamable-http", host="127.0.0.1", port=port, stateless_http=stateless)
