"""The async client: one keep-alive ``httpx.AsyncClient``, for fan-out to many computers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from orgorepl import errors, protocol
from orgorepl.client.core import GET_READ_TIMEOUT, MAX_BODY_BYTES, _Call, _ClientCore, _Op


class AsyncOrgoClient(_ClientCore):
    """Asynchronous client: one keep-alive ``httpx.AsyncClient`` (for fan-out to many computers)."""

    def __init__(
        self,
        api_key: str,
        base_url: str = protocol.DEFAULT_BASE_URL,
        *,
        connect_timeout: float = 10.0,
        timeout_margin: float = 15.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str | None = None,
        read_timeout: float = GET_READ_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            api_key, base_url, connect_timeout=connect_timeout, timeout_margin=timeout_margin,
            max_retries=max_retries, user_agent=user_agent, read_timeout=read_timeout,
            max_body_bytes=max_body_bytes,
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(**self._httpx_options(transport))

    # ---- send loop
    async def _send(self, call: _Call, cancelled: Callable[[], bool] | None = None) -> Any:
        attempt = 0
        while True:
            try:
                return await self._attempt(call)
            except errors.OrgoError as err:
                delay = self.retry.delay(call, attempt, err)
                if delay is None or (cancelled is not None and cancelled()):
                    raise
                last = err
            await self._sleep(delay)
            if cancelled is not None and cancelled():
                raise last
            attempt += 1

    async def _attempt(self, call: _Call) -> Any:
        request = self._http.build_request(
            call.method, call.path, json=call.body, timeout=self._timeout_for(call)
        )
        try:
            response = await self._http.send(request, stream=True)
            try:
                buffer = self._buffer(call, response)
                async for chunk in response.aiter_bytes():
                    buffer.feed(chunk)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise self._translate(exc, call) from exc
        return self._interpret(call, response, buffer.data)

    async def _run(self, op: _Op, cancelled: Callable[[], bool] | None = None) -> Any:
        try:
            call = next(op)
            while True:
                try:
                    data = await self._send(call, cancelled)
                except errors.OrgoError as err:
                    call = op.throw(err)
                else:
                    call = op.send(data)
        except StopIteration as stop:
            return stop.value

    # ---- API
    async def exec(self, computer_id: str, code: str, timeout: int = protocol.EXEC_TIMEOUT_DEFAULT, *,
                   cancelled: Callable[[], bool] | None = None) -> protocol.ExecResult:
        return await self._run(self._op_exec(computer_id, code, timeout), cancelled)

    async def bash(self, computer_id: str, command: str, timeout: int = protocol.BASH_TIMEOUT_DEFAULT, *,
                   cancelled: Callable[[], bool] | None = None) -> protocol.BashResult:
        return await self._run(self._op_bash(computer_id, command, timeout), cancelled)

    async def get_computer(self, computer_id: str) -> protocol.Computer:
        return await self._run(self._op_get_computer(computer_id))

    async def list_workspaces(self) -> list[protocol.Workspace]:
        return await self._run(self._op_list_workspaces())

    async def get_workspace(self, workspace_id: str) -> protocol.Workspace:
        return await self._run(self._op_get_workspace(workspace_id))

    async def list_computers(self) -> list[protocol.Computer]:
        return await self._run(self._op_list_computers())

    async def resolve_computer(self, ref: str | None) -> protocol.Computer:
        return await self._run(self._op_resolve_computer(ref))

    async def terminal_access(self, computer_id: str, *, fresh_token: bool = False) -> protocol.TerminalAccess:
        return await self._run(self._op_terminal_access(computer_id, fresh_token))

    async def start(self, computer_id: str) -> dict[str, Any]:
        return await self._run(self._op_lifecycle(computer_id, "start"))

    async def stop(self, computer_id: str) -> dict[str, Any]:
        return await self._run(self._op_lifecycle(computer_id, "stop"))

    async def restart(self, computer_id: str) -> dict[str, Any]:
        return await self._run(self._op_lifecycle(computer_id, "restart"))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncOrgoClient:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
