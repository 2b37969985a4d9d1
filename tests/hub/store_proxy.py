"""A TCP proxy of the test's own between the hub and PostgreSQL: cut it to make the store go away
(every connection dropped, new ones refused) without touching the machine's PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class Proxy:
    """Forwards a local port to the PostgreSQL server until cut.

    ``on_client_data`` sees every chunk a client sends before it is forwarded; answering True cuts
    that connection right after forwarding the chunk (the server gets it, the answer is lost).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.on_client_data: Callable[[bytes], bool] | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, server_w}

        cutting = False

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, inspect: bool) -> None:
            nonlocal cutting
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    if cutting:
                        continue  # the server's answer is lost
                    writer.write(data)
                    await writer.drain()
                    if inspect and self.on_client_data is not None and self.on_client_data(data):
                        cutting = True
                        await asyncio.sleep(0.2)  # the server acts on it
                        client_w.transport.abort()
                        server_w.transport.abort()
                        return
            writer.transport.abort()

        await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False))
