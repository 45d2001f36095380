"""WeChat's server protocol, pure: signatures, safe-mode crypto, refusing hostile XML, parsing, replies.

Everything here takes bytes/strings and returns plain data or raises one of core.errors: a bad
signature is `Forbidden` (403); a body that cannot be decrypted, carries another AppID, is not
XML, has a DOCTYPE or lacks a field is `BadRequest` (400). Nothing that fails here reaches the bot.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from core.errors import BadRequest, Forbidden, UnsupportedMediaType

XML_TYPES = ("text/xml", "application/xml", "text/plain")  # WeChat sends text/xml; some proxies rewrite it
REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
# any DTD: external entities (XXE) and entity expansion ("billion laughs") both need one
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.I)


@dataclass(frozen=True)
class Query:
    signature: str | None
    timestamp: str | None
    nonce: str | None
    encrypt_type: str | None = None
    msg_signature: str | None = None
    echostr: str | None = None

    @classmethod
    def of(cls, params: Any) -> Query:
        return cls(
            *(params.get(k) for k in ("signature", "timestamp", "nonce", "encrypt_type", "msg_signature", "echostr"))
        )


@dataclass(frozen=True)
class Inbound:
    """A message from WeChat, parsed: wechatpy's message plus the key that identifies its retries."""

    message: BaseMessage
    openid: str
    account: str  # our official account's id (ToUserName), the sender of our replies
    dedup_key: str
    kind: str  # "text", "voice", "event:click", "image", ...
    encrypted: bool


def verify_signature(token: str, query: Query) -> None:
    if not (query.signature and query.timestamp and query.nonce):
        raise Forbidden("signature, timestamp and nonce are required query parameters (WeChat sends them)")
    try:
        check_signature(token, query.signature, query.timestamp, query.nonce)
    except InvalidSignatureException as exc:
        raise Forbidden("the signature does not match WECHAT_TOKEN; check the token on the WeChat platform") from exc


MAX_SKEW_S = 300  # WeChat signs every request with its time; anything older (or from the future) is refused


def check_fresh(query: Query, now: float) -> None:
    """A replayed URL carries its old timestamp: refuse requests signed more than 5 minutes away from now."""
    stamp = query.timestamp or ""
    if not stamp.isdigit() or len(stamp) > 12:
        raise Forbidden("timestamp must be the Unix time WeChat signed the request with")
    if abs(now - int(stamp)) > MAX_SKEW_S:
        raise Forbidden(
            f"the request was signed {int(now) - int(stamp)} s from now; more than {MAX_SKEW_S} s is refused"
        )


def require_safe_mode(crypto: WeChatCrypto | None, query: Query) -> bool:
    """With an AES key configured only encrypted messages are accepted (a plaintext body is signed over the
    query alone, so anyone who saw one URL could send any body with it). Returns whether to decrypt."""
    encrypted = (query.encrypt_type or "").lower() == "aes"
    if crypto is not None and not encrypted:
        raise Forbidden("safe mode: plaintext messages are refused (encrypt_type=aes and msg_signature required)")
    return crypto is not None


class NonceGuard:
    """The (timestamp, nonce) pairs seen within the last 5 minutes, with a digest of their body: the same pair
    with another body is a replay and refused; the same pair and body is WeChat's own retry (deduplicated by
    the inbox). Per api process; with several processes the timestamp check still bounds a replay."""

    def __init__(self, ttl_s: float = MAX_SKEW_S) -> None:
        self.ttl_s = ttl_s
        self._seen: dict[tuple[str, str], tuple[float, bytes]] = {}

    def check(self, query: Query, body: bytes, now: float) -> None:
        if len(self._seen) > 1000:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] <= self.ttl_s}
        key = (query.timestamp or "", query.nonce or "")
        digest = hashlib.sha256(body).digest()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] <= self.ttl_s and seen[1] != digest:
            raise Forbidden("this timestamp and nonce were already used for another message (a replay)")
        self._seen[key] = (seen[0] if seen is not None else now, digest)


def verify_server(token: str, query: Query) -> str:
    """GET /wechat: WeChat's server verification; answer its echostr when the signature is ours."""
    verify_signature(token, query)
    if not query.echostr:
        raise BadRequest("echostr is missing; only WeChat's server verification calls GET /wechat")
    return query.echostr


def check_content_type(content_type: str | None) -> None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and media not in XML_TYPES:
        raise UnsupportedMediaType(f"content type {media!r} is not XML; WeChat posts text/xml")


def refuse_dtd(body: bytes) -> None:
    if _DTD.search(body):
        raise BadRequest("XML with a DOCTYPE or entity declarations is refused (WeChat never sends one)")


def _parse_xml(body: bytes | str) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body
    refuse_dtd(raw)
    try:
        parsed = xmltodict.parse(raw, disable_entities=True)
    except (ExpatError, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not well-formed XML ({exc})") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise BadRequest("the body is not a WeChat message: its root element must be <xml>")
    return root


def decrypt(crypto: WeChatCrypto, body: bytes, query: Query) -> str:
    """Safe mode: the plain XML inside the encrypted envelope (signature and AppID checked by wechatpy)."""
    envelope = _parse_xml(body)
    if not isinstance(envelope.get("Encrypt"), str):
        raise BadRequest("safe mode: the body has no <Encrypt> element")
    if not (query.msg_signature and query.timestamp and query.nonce):
        raise Forbidden("safe mode: msg_signature, timestamp and nonce are required query parameters")
    try:
        return str(crypto.decrypt_message(body.decode("utf-8"), query.msg_signature, query.timestamp, query.nonce))
    except InvalidSignatureException as exc:
        raise Forbidden("msg_signature does not match; check WECHAT_TOKEN") from exc
    except InvalidAppIdException as exc:
        raise BadRequest("the message was encrypted for another AppID; check WECHAT_APP_ID") from exc
    except Exception as exc:  # bad base64, bad padding, wrong key: whatever the ciphertext was, refuse it
        raise BadRequest(f"the body cannot be decrypted ({type(exc).__name__}); check WECHAT_ENCODING_AES_KEY") from exc


def parse(xml: bytes | str, encrypted: bool) -> Inbound:
    fields = _parse_xml(xml)
    missing = [f for f in REQUIRED if not isinstance(fields.get(f), str) or not fields[f].strip()]
    if missing:
        raise BadRequest(f"the message lacks {', '.join(missing)}")
    for name in ("CreateTime", "MsgId"):
        value = fields.get(name)
        if value is not None and not (isinstance(value, str) and value.strip().isdigit() and len(value) < 24):
            raise BadRequest(f"{name} must be a number; got {str(value)[:40]!r}")
    text = xml.decode("utf-8") if isinstance(xml, bytes) else xml
    try:
        message = parse_message(text)
    except Exception as exc:  # a field wechatpy cannot convert (e.g. a non-numeric CreateTime)
        raise BadRequest(f"the message cannot be parsed ({type(exc).__name__}: {exc})") from exc
    msg_type = str(fields["MsgType"]).lower()
    event = str(fields.get("Event") or "").lower()
    if fields.get("MsgId"):
        key = f"msg:{fields['MsgId']}"
    else:  # events have no MsgId: WeChat's rule is FromUserName + CreateTime (a retry repeats the event and key)
        key = f"evt:{fields['FromUserName']}:{fields['CreateTime']}:{event}:{str(fields.get('EventKey') or '')[:60]}"
    kind = f"event:{message.event}" if msg_type == "event" else msg_type
    return Inbound(message, str(fields["FromUserName"]), str(fields["ToUserName"]), key, kind, encrypted)


def text_reply(inbound: Inbound, content: str, crypto: WeChatCrypto | None, nonce: str | None) -> str:
    """The passive reply XML (encrypted in safe mode)."""
    xml = TextReply(message=inbound.message, content=content).render()
    if crypto is not None and inbound.encrypted:
        return str(crypto.encrypt_message(xml, nonce or "powerdesk", str(int(time.time()))))
    return str(xml)
