"""Widget visitors' session tokens: signed with SECRET_KEY, expiring, renewed on every visit.

The visitor id behind a token is made here (never chosen by the browser) and never travels in a URL: the widget
keeps the token in its site's storage and sends it in an `Authorization: Bearer` header or in the websocket's
first frame. A token unseen for WIDGET_SESSION_DAYS no longer opens the conversation (nor the bound account):
the visitor starts afresh."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.errors import NotAuthenticated

SALT = "powerdesk.widget.session"
MAX_TOKEN_CHARS = 512


class SessionExpired(NotAuthenticated):
    code = "session_expired"


@dataclass(frozen=True)
class WidgetSession:
    token: str
    visitor: str
    expires_in_s: int


class WidgetSessions:
    def __init__(self, secret: str, ttl_s: float) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt=SALT)
        self.ttl_s = ttl_s

    def issue(self, visitor: str | None = None) -> WidgetSession:
        """A token for `visitor` (renewal), or for a new visitor."""
        visitor = visitor or secrets.token_hex(16)
        return WidgetSession(str(self._signer.dumps({"v": visitor})), visitor, int(self.ttl_s))

    def visitor(self, token: str | None) -> str:
        """The visitor a token names; SessionExpired or NotAuthenticated with what the widget should do."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise NotAuthenticated("no widget session token; get one from POST /api/v1/widget/session")
        try:
            data = self._signer.loads(token, max_age=int(self.ttl_s))
        except SignatureExpired as exc:
            raise SessionExpired("the widget session expired; get a new one from POST /api/v1/widget/session") from exc
        except BadSignature as exc:
            raise NotAuthenticated(
                "the widget session token is not valid; get one from POST /api/v1/widget/session"
            ) from exc
        visitor = data.get("v") if isinstance(data, dict) else None
        if not isinstance(visitor, str) or not visitor:
            raise NotAuthenticated("the widget session token names no visitor; get a new one")
        return visitor

    def renew(self, token: str | None) -> WidgetSession:
        """The same visitor with a fresh expiry, or a new visitor when the token is missing, expired or forged."""
        try:
            return self.issue(self.visitor(token))
        except NotAuthenticated:
            return self.issue()


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None
