"""Run rasa_sdk custom actions inside the assistant's own process.

Rasa calls custom actions through `RemoteAction`, which POSTs the action call to the
action server's endpoint. `InProcessActionEndpoint` is an EndpointConfig whose
`request` hands the same JSON to rasa_sdk's ActionExecutor directly: the same actions
code, the same payloads, no HTTP hop and no second process. A standard deployment can
still run `rasa run actions` and point `endpoints.yml` at it.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

log = logging.getLogger(__name__)


class InProcessActionEndpoint(EndpointConfig):
    def __init__(self, package: str = "actions"):
        super().__init__(url=f"inprocess://{package}")
        self.executor = ActionExecutor()
        self.executor.register_package(package)

    async def request(self, method: str = "post", subpath: str | None = None,
                      content_type: str | None = "application/json", compress: bool = False,
                      **kwargs: Any) -> Any:
        action_call = kwargs.get("json") or {}
        try:
            return await self.executor.run(action_call)
        except ActionExecutionRejection as exc:
            # RemoteAction turns a 400 into ActionExecutionRejection (forms rely on this).
            body = json.dumps({"error": exc.message, "action_name": exc.action_name})
            raise ClientResponseError(400, "action rejected", body) from exc
        except ActionNotFoundException as exc:
            raise ClientResponseError(404, "action not found",
                                      json.dumps({"error": exc.message})) from exc
