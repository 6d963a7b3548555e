"""The blocking client: one keep-alive ``httpx.Client`` driving the shared operations."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from orgorepl import errors, protocol
from orgorepl.client.core import GET_READ_TIMEOUT, MAX_BODY_BYTES, _Call, _ClientCore, _Op


def _run_sync(op: _Op, send: Callable[[_Call], Any]) -> Any:
    try:
        call = next(op)
        while True:
            try:
                data = send(call)
            except errors.OrgoError as err:
                call = op.throw(err)
            else:
                call = op.send(data)
    except StopIteration as stop:
        return stop.value


class OrgoClient(_ClientCore):
    """Synchronous client: one keep-alive ``httpx.Client``."""

    def __init__(
        self,
        api_key: str,
        base_url: str = protocol.DEFAULT_BASE_URL,
        *,
        connect_timeout: float = 10.0,
        timeout_margin: float = 15.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        read_timeout: float = GET_READ_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            api_key, base_url, connect_timeout=connect_timeout, timeout_margin=timeout_margin,
            max_retries=max_retries, user_agent=user_agent, read_timeout=read_timeout,
            max_body_bytes=max_body_bytes,
        )
        self._sleep = sleep
        self._http = httpx.Client(**self._httpx_options(transport))

    # ---- send loop
    def _send(self, call: _Call, cancelled: Callable[[], bool] | None = None) -> Any:
        attempt = 0
        while True:
            try:
                return self._attempt(call)
            except errors.OrgoError as err:
                delay = self.retry.delay(call, attempt, err)
                if delay is None or (cancelled is not None and cancelled()):
                    raise
                last = err
            self._sleep(delay)
            if cancelled is not None and cancelled():
                raise last
            attempt += 1

    def _attempt(self, call: _Call) -> Any:
        request = self._http.build_request(
            call.method, call.path, json=call.body, timeout=self._timeout_for(call)
        )
        try:
            response = self._http.send(request, stream=True)
            try:
                buffer = self._buffer(call, response)
                for chunk in response.iter_bytes():
                    buffer.feed(chunk)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise self._translate(exc, call) from exc
        return self._interpret(call, response, buffer.data)

    def _run(self, op: _Op, cancelled: Callable[[], bool] | None = None) -> Any:
        return _run_sync(op, lambda call: self._send(call, cancelled))

    # ---- API
    def exec(self, computer_id: str, code: str, timeout: int = protocol.EXEC_TIMEOUT_DEFAULT, *,
             cancelled: Callable[[], bool] | None = None) -> protocol.ExecResult:
        return self._run(self._op_exec(computer_id, code, timeout), cancelled)

    def bash(self, computer_id: str, command: str, timeout: int = protocol.BASH_TIMEOUT_DEFAULT, *,
             cancelled: Callable[[], bool] | None = None) -> protocol.BashResult:
        return self._run(self._op_bash(computer_id, command, timeout), cancelled)

    def get_computer(self, computer_id: str) -> protocol.Computer:
        return self._run(self._op_get_computer(computer_id))

    def list_workspaces(self) -> list[protocol.Workspace]:
        return self._run(self._op_list_workspaces())

    def get_workspace(self, workspace_id: str) -> protocol.Workspace:
        return self._run(self._op_get_workspace(workspace_id))

    def list_computers(self) -> list[protocol.Computer]:
        return self._run(self._op_list_computers())

    def resolve_computer(self, ref: str | None) -> protocol.Computer:
        return self._run(self._op_resolve_computer(ref))

    def terminal_access(self, computer_id: str, *, fresh_token: bool = False) -> protocol.TerminalAccess:
        return self._run(self._op_terminal_access(computer_id, fresh_token))

    def start(self, computer_id: str) -> dict[str, Any]:
        return self._run(self._op_lifecycle(computer_id, "start"))

    def stop(self, computer_id: str) -> dict[str, Any]:
        return self._run(self._op_lifecycle(computer_id, "stop"))

    def restart(self, computer_id: str) -> dict[str, Any]:
        return self._run(self._op_lifecycle(computer_id, "restart"))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OrgoClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
