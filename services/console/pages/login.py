"""Sign in (a session cookie, HttpOnly, SameSite=Lax) and sign out."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.console.deps import SESSION_COOKIE, CurrentUser, form_fields, get_console
from services.console.pages.common import safe_next
from services.console.pages.html import esc, page

router = APIRouter(include_in_schema=False)


def login_form(next_path: str, error: str | None = None) -> str:
    problem = f'<p class="problems" id="login-error">{esc(error)}</p>' if error else ""
    return (
        f'{problem}<form method="post" action="/login" class="card">'
        f'<input type="hidden" name="next" value="{esc(next_path)}">'
        '<div class="field"><label for="f-username">User name</label>'
        '<input type="text" id="f-username" name="username" autocomplete="username"></div>'
        '<div class="field"><label for="f-password">Password</label>'
        '<input type="password" id="f-password" name="password"'
        ' autocomplete="current-password"></div><button type="submit">Sign in</button></form>'
    )


@router.get("/login")
async def login_page(next: str = "/") -> Response:
    return page("Sign in", login_form(safe_next(next)), None)


@router.post("/login")
async def login(request: Request) -> Response:
    console = get_console(request)
    form = await form_fields(request)
    username = (form.get("username") or [""])[0]
    password = (form.get("password") or [""])[0]
    target = safe_next((form.get("next") or ["/"])[0])
    user = await console.users.authenticate(username, password)
    if user is None:
        return page(
            "Sign in", login_form(target, "Wrong user name or password."), None, status_code=401
        )
    hours = console.settings.console_session_hours
    issued = await console.users.issue(user["username"], "session", timedelta(hours=hours))
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="lax",
        secure=console.settings.console_secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, principal: CurrentUser) -> Response:
    await get_console(request).users.revoke(principal.token_hash)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
