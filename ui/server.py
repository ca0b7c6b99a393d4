"""Serving the web application with uvicorn, stopping promptly while chat pages are open.

Every open page of a mounted Gradio app keeps a heartbeat stream open for as long as the page stays open.
Gradio's own launcher ends those streams when it stops; an app mounted in FastAPI and served by uvicorn has to
do it itself, or a server told to stop (Ctrl-C, `docker stop`) waits for every customer to close the chat.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from fastapi import FastAPI
from gradio.routes import App as GradioApp
from starlette.routing import Mount

# Seconds that replies still being streamed get to finish once the server is told to stop; after that they are
# cut off. Under Docker's 10 s between SIGTERM and SIGKILL.
SHUTDOWN_GRACE_S = 5


def end_page_streams(app: FastAPI) -> None:
    """Tell every Gradio app mounted in `app` to end its pages' heartbeat streams."""
    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, GradioApp):
            route.app.stop_event.set()


class AppServer(uvicorn.Server):
    """uvicorn's server for an app built by `ui.app.build_app`: on stopping, the pages' streams end first."""

    def __init__(self, app: FastAPI, **options: Any) -> None:
        super().__init__(uvicorn.Config(app, timeout_graceful_shutdown=SHUTDOWN_GRACE_S, **options))
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """End the pages' streams, then stop as uvicorn does (replies in progress get `SHUTDOWN_GRACE_S`)."""
        end_page_streams(self.app)
        await super().shutdown(sockets)


def serve(app: FastAPI, *, host: str, port: int, forwarded_allow_ips: str | None = None) -> None:
    """Serve `app` until the process is told to stop (Ctrl-C, SIGTERM)."""
    AppServer(app, host=host, port=port, log_level="warning", forwarded_allow_ips=forwarded_allow_ips).run()
