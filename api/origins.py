"""Which sites may use the widget: its websocket checks the browser's Origin, and CORS answers for those sites
(only on the widget's own paths; the console and the rest of the api stay same-site)."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

WIDGET_PATHS = ("/api/v1/widget/",)


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, as a browser sends it in Origin."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}".lower() if rest else ""


def origin_allowed(origin: str | None, own: list[str], allowed: list[str]) -> bool:
    """No Origin: not a browser (a browser always sends one on a websocket), so nothing a site can abuse."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    return origin in {o.lower() for o in own} or origin in {o.lower() for o in allowed}


class WidgetCORS:
    """CORS for the sites that embed the widget, on the widget's paths only (no cookies are involved: the widget
    sends its session token in a header)."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(WIDGET_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
