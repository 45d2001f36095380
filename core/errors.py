"""One error tree for PowerDesk. Each error says what to do about it.

The api translates these into HTTP responses in one exception handler; actions turn
them into an apologetic response plus a log line.
"""

from __future__ import annotations


class PowerDeskError(Exception):
    """Base of every error PowerDesk raises on purpose."""

    status_code = 500
    code = "internal_error"


class ConfigError(PowerDeskError):
    code = "config_error"


class InvalidInput(PowerDeskError):
    """The caller sent something we cannot accept; the message says how to fix it."""

    status_code = 422
    code = "invalid_input"


class NotFound(PowerDeskError):
    status_code = 404
    code = "not_found"


class RateLimited(PowerDeskError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooManyConversations(RateLimited):
    """More new conversations than the limits allow (from one address, or from everyone together)."""

    code = "too_many_conversations"


class UpstreamUnavailable(PowerDeskError):
    """Rasa, the action server or another dependency did not answer in time.

    `unreached`: the request never reached it (connection refused, no model loaded yet), so sending it
    again later cannot make it act twice."""

    status_code = 503
    code = "upstream_unavailable"

    def __init__(self, message: str, unreached: bool = False) -> None:
        super().__init__(message)
        self.unreached = unreached


class UpstreamBusy(UpstreamUnavailable):
    """The dependency is up but every place in its queue stayed taken for the whole timeout: the request was not
    sent (unreached), and another replica of a busy cluster would keep it waiting as long again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, unreached=True)


class DataError(PowerDeskError):
    """A data file (schedule, knowledge entry, generator config) is malformed."""

    code = "data_error"


# --- agent console -------------------------------------------------------------------------


class NotAuthenticated(PowerDeskError):
    """No valid console session (or a wrong password)."""

    status_code = 401
    code = "not_authenticated"


class Forbidden(PowerDeskError):
    """Logged in, but this role or this agent may not do it (or the CSRF token is missing)."""

    status_code = 403
    code = "forbidden"


class Conflict(PowerDeskError):
    """The case changed under the caller (claimed by someone else, already closed)."""

    status_code = 409
    code = "conflict"


# --- channels --------------------------------------------------------------------------------


class BadRequest(InvalidInput):
    """A request that cannot be read at all (undecryptable, not XML, a DOCTYPE, missing fields)."""

    status_code = 400
    code = "bad_request"


class UnsupportedMediaType(InvalidInput):
    status_code = 415
    code = "unsupported_media_type"


class ChannelDisabled(PowerDeskError):
    """A channel whose settings are missing (e.g. WECHAT_TOKEN)."""

    status_code = 503
    code = "channel_disabled"
