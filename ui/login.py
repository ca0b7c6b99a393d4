"""Login for staff and operators: a plain HTML form, a session cookie (HttpOnly, SameSite=Lax), logout.

Pages behind a login get `require_user()` in their handlers and `auth_dependency()` when they are mounted, so
both the page and every action refuse a request without a live session of the right role.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chatbot.auth import Accounts, User

COOKIE = "chatbot_session"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f6f8; display: flex; justify-content: center;
        padding: 10vh 1rem; margin: 0; }}
 form {{ background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 2px 12px #0001; width: 100%;
        max-width: 340px; }}
 label {{ display: block; margin: 1rem 0 .3rem; font-size: .9rem; color: #333; }}
 input {{ width: 100%; padding: .6rem; border: 1px solid #bbb; border-radius: 6px; box-sizing: border-box; }}
 button {{ margin-top: 1.5rem; width: 100%; padding: .7rem; border: 0; border-radius: 6px; background: #1f4e79;
          color: #fff; font-size: 1rem; cursor: pointer; }}
 .error {{ color: #a4262c; margin-top: 1rem; }}
</style></head>
<body><form method="post" action="/login">
<h1 style="font-size:1.3rem;margin:0">Support team sign in</h1>
<input type="hidden" name="next" value="{next}">
<label for="name">User name</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>{error}
</form></body></html>"""


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path on this site (no open redirect to another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/review/"
    return target


def user_from_request(accounts: Accounts, request: Any) -> User | None:
    """The logged-in user of a FastAPI or Gradio request (Gradio's passes `cookies` through)."""
    return accounts.user_for(request.cookies.get(COOKIE)) if request is not None else None


def auth_dependency(accounts: Accounts, role: str) -> Callable[[Request], str | None]:
    """For `gr.mount_gradio_app(..., auth_dependency=...)`: the user's name when they may see the page."""

    def dependency(request: Request) -> str | None:
        user = user_from_request(accounts, request)
        return user.name if user is not None and user.can(role) else None

    return dependency


def add_login_routes(app: FastAPI, accounts: Accounts, protected: dict[str, str]) -> None:
    """`/login` (form and POST), `/logout`, and a redirect to the login form for protected pages.

    Args:
        protected (`dict[str, str]`): path prefix -> role needed, e.g. {"/review": "staff"}.
    """

    @app.get("/login", response_class=HTMLResponse)
    def login_form(next: str | None = None) -> HTMLResponse:  # noqa: A002  # the query parameter's name
        return HTMLResponse(_PAGE.format(next=html.escape(safe_next(next)), error=""))

    @app.post("/login")
    def login(
        request: Request, name: str = Form(...), password: str = Form(...), next: str = Form("/review/")
    ) -> Response:  # noqa: A002
        token = accounts.login(name.strip(), password)
        if token is None:
            error = '<p class="error" role="alert">Wrong user name or password.</p>'
            page = _PAGE.format(next=html.escape(safe_next(next)), error=error)
            return HTMLResponse(page, status_code=401)
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(accounts.session_hours * 3600),
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    @app.get("/logout")
    def logout(request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        if token:
            accounts.logout(token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.middleware("http")
    async def send_strangers_to_login(request: Request, call_next: Callable[[Request], Any]) -> Response:
        # Opening a protected page without a session (or with too small a role) shows the login form;
        # Gradio itself answers 401 to its API calls without one.
        path = request.url.path
        for prefix, role in protected.items():
            if request.method == "GET" and path in (prefix, prefix + "/"):
                user = user_from_request(accounts, request)
                if user is None or not user.can(role):
                    return RedirectResponse(f"/login?next={prefix}/", status_code=303)
        response: Response = await call_next(request)
        return response
