"""The web application: `build_app(...)` returns a FastAPI app with the Gradio pages mounted, without serving it.

/          the customer chat (public; each browser tab only ever sees its own conversation)
/review    the review console (staff and operators, after signing in)
/login     sign-in form; /logout
/healthz   the health check for a load balancer or Docker (200, or 503 when the database cannot be reached)
"""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from chatbot.auth import Accounts
from chatbot.review import ReviewDesk
from chatbot.service import ChatService
from finetune.background import JobRunner
from ui.chat_widget import build_chat_page
from ui.login import add_login_routes, auth_dependency
from ui.operator_console import OperatorConsole, build_operator_page
from ui.review_console import build_review_page

# The pages that need a signed-in user, and the role it must have.
PROTECTED = {"/review": "staff", "/operator": "operator"}


def build_pages(service: ChatService, accounts: Accounts) -> dict[str, gr.Blocks]:
    """Each page as its own `gr.Blocks`, by path ("/" last: it is the catch-all mount)."""
    chat = build_chat_page(service)
    chat.title = "Help center chat"
    console = OperatorConsole(
        service.settings, accounts.store, accounts, service.embedder, JobRunner(), service=service
    )
    return {
        "/review": build_review_page(ReviewDesk(accounts.store), accounts),
        "/operator": build_operator_page(console),
        "/": chat,
    }


def build_app(service: ChatService, accounts: Accounts, *, max_file_size: str = "20mb") -> FastAPI:
    """All pages of the product under one FastAPI app (serve it with uvicorn)."""
    app = FastAPI(title="Customer-service chatbot", docs_url=None, redoc_url=None, openapi_url=None)
    add_login_routes(app, accounts, PROTECTED)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        # Without a knowledge base the bot still serves (it hands every question to staff): only the database
        # makes a replica unfit for customers.
        report = service.health()
        return JSONResponse(report, status_code=200 if report["database"] == "ok" else 503)

    for path, page in build_pages(service, accounts).items():
        page.queue(default_concurrency_limit=16)
        role = PROTECTED.get(path)
        gr.mount_gradio_app(
            app,
            page,
            path=path,
            auth_dependency=auth_dependency(accounts, role) if role else None,
            max_file_size=max_file_size,
            footer_links=[],
        )
    return app
