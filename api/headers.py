"""Security headers on every HTTP response (pages that set their own, like the console's, keep them)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASELINE = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
    # the demo and forecast pages carry their CSS inline; scripts only from this origin
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"connect-src 'self' ws: wss:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
}
HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app, self.https = app, https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in BASELINE.items() if k not in present]
                if self.https and HSTS[0] not in present:
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
