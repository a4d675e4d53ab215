"""Small HTML builders for the server-rendered pages (no template engine: every value goes
through `esc`, and pages are plain functions of their data)."""

from collections.abc import Iterable, Sequence
from html import escape
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse

from services.console.auth import Principal

NAV = (
    ("wizard", "/wizard", "Configuration"),
    ("sync", "/sync", "Initial sync"),
    ("mappings", "/mappings", "Mappings"),
    ("audit", "/audit", "Audit trail"),
    ("health", "/health", "Health"),
)
CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#1d3557;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;
align-items:center;flex-wrap:wrap}
header a{color:#dbe7f3;text-decoration:none}
header a.on{color:#fff;font-weight:600;border-bottom:2px solid #8ecae6}
header .who{margin-left:auto;display:flex;gap:.6rem;align-items:center}
main{max-width:1080px;margin:1.2rem auto;padding:0 1rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}
h2{font-size:1.1rem;margin:1.4rem 0 .6rem}
.card{background:#fff;border:1px solid #d9dee4;border-radius:8px;padding:1rem 1.2rem;
margin:.8rem 0}
.field{margin:.9rem 0}
.field label{display:block;font-weight:600}
.help{color:#5b6b7b;font-size:.86rem;margin:.1rem 0 .3rem}
.error{color:#b00020;font-size:.88rem;margin-top:.25rem}
.field.bad input,.field.bad select{border-color:#b00020}
input[type=text],input[type=password],input[type=search],input[type=datetime-local],
select{width:100%;max-width:480px;padding:.4rem .5rem;border:1px solid #b8c2cc;border-radius:5px;
font:inherit}
button,.button{background:#1d3557;color:#fff;border:0;border-radius:5px;padding:.45rem .9rem;
font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#e4e9ef;color:#1d2733}
button.danger{background:#9d0208}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e4e9ef;vertical-align:top}
.steps{display:flex;gap:.3rem;flex-wrap:wrap;margin-bottom:1rem}
.steps a{padding:.3rem .6rem;border-radius:14px;background:#e4e9ef;color:#1d2733;
text-decoration:none;font-size:.88rem}
.steps a.on{background:#1d3557;color:#fff}
.flash{background:#e6f4ea;border:1px solid #9bd3ae;padding:.6rem .9rem;border-radius:6px}
.problems{background:#fdecea;border:1px solid #f5b7b1;padding:.6rem .9rem;border-radius:6px}
.muted{color:#5b6b7b}
.pair{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
.pair .side{flex:1;min-width:220px}
.actions{display:flex;gap:.5rem;margin-top:.6rem;flex-wrap:wrap}
.actions form{display:inline}
progress{width:220px}
.tag{font-size:.8rem;background:#e4e9ef;border-radius:10px;padding:.1rem .5rem}
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def url(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept, doseq=True)}" if kept else path


def csrf_input(principal: Principal) -> str:
    return f'<input type="hidden" name="csrf_token" value="{esc(principal.csrf_token)}">'


def post_form(
    principal: Principal,
    action: str,
    label: str,
    css: str = "",
    fields: dict[str, str] | None = None,
) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in (fields or {}).items()
    )
    return (
        f'<form method="post" action="{esc(action)}">{csrf_input(principal)}{hidden}'
        f'<button type="submit" class="{esc(css)}">{esc(label)}</button></form>'
    )


def field(name: str, label: str, help_text: str, control: str, error: str | None) -> str:
    problem = f'<div class="error" id="error-{esc(name)}">{esc(error)}</div>' if error else ""
    return (
        f'<div class="field{" bad" if error else ""}" data-field="{esc(name)}">'
        f'<label for="f-{esc(name)}">{esc(label)}</label>'
        f'<div class="help">{esc(help_text)}</div>{control}{problem}</div>'
    )


def text_input(name: str, value: Any, kind: str = "text", placeholder: str = "") -> str:
    return (
        f'<input type="{kind}" id="f-{esc(name)}" name="{esc(name)}" value="{esc(value)}"'
        f' placeholder="{esc(placeholder)}" autocomplete="off">'
    )


def checkbox(name: str, checked: bool, value: str = "on", label: str = "") -> str:
    mark = " checked" if checked else ""
    control = f'<input type="checkbox" name="{esc(name)}" value="{esc(value)}"{mark}'
    if not label:
        return f'{control} id="f-{esc(name)}"> on'
    return f'<label class="muted">{control}> {esc(label)}</label> '


def select(
    name: str, options: Sequence[tuple[str, str]], selected: Any, blank: str | None = "-"
) -> str:
    chosen = "" if selected is None else str(selected)
    items = [f'<option value="">{esc(blank)}</option>'] if blank is not None else []
    values = {value for value, _ in options}
    if chosen and chosen not in values:
        items.append(f'<option value="{esc(chosen)}" selected>{esc(chosen)} (not found)</option>')
    for value, label in options:
        mark = " selected" if value == chosen else ""
        items.append(f'<option value="{esc(value)}"{mark}>{esc(label)}</option>')
    return f'<select id="f-{esc(name)}" name="{esc(name)}">{"".join(items)}</select>'


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], css_id: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    ident = f' id="{esc(css_id)}"' if css_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(
    title: str,
    body: str,
    principal: Principal | None,
    active: str = "",
    tenant: str | None = None,
    status_code: int = 200,
    flash: str | None = None,
) -> HTMLResponse:
    nav = ""
    if principal is not None:
        links = "".join(
            f'<a href="{href}" class="{"on" if key == active else ""}">{esc(label)}</a>'
            for key, href, label in NAV
        )
        switch = '<a href="/tenants">switch</a>' if principal.is_operator else ""
        nav = (
            f"<strong>revsync</strong>{links}<span class='who'><span>tenant"
            f" <b id='tenant'>{esc(tenant or '-')}</b> {switch}</span>"
            f"<span>{esc(principal.username)}</span>"
            f"{post_form(principal, '/logout', 'Sign out', 'secondary')}</span>"
        )
    else:
        nav = "<strong>revsync</strong>"
    notice = f'<p class="flash" id="flash">{esc(flash)}</p>' if flash else ""
    html = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)} - revsync</title><style>{CSS}</style></head>"
        f"<body><header>{nav}</header><main><h1>{esc(title)}</h1>{notice}{body}</main>"
        f"</body></html>"
    )
    return HTMLResponse(html, status_code=status_code)


def error_page(status_code: int, detail: Any) -> HTMLResponse:
    """Why a request was not served, as a page (without the signed-in header: the request
    may have failed before anyone was signed in)."""
    body = f'<p class="problems" id="problem">{esc(detail)}</p><p><a href="/">Home</a></p>'
    return page(HTTPStatus(status_code).phrase, body, None, status_code=status_code)
