"""WeChat's side of the callback, built with wechatpy: signed (and in safe mode encrypted) requests from
the XML fixtures in tests/fixtures/wechat, and the passive replies read back."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wechat"
TOKEN = "powerdesk-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
_ids = itertools.count(int(time.time() * 1000))


def fixture(name: str, **values: Any) -> str:
    values.setdefault("create_time", int(time.time()))
    values.setdefault("msg_id", next(_ids))
    values.setdefault("openid", "o_test_user")
    return (FIXTURES / f"{name}.xml").read_text(encoding="utf-8").format(**values)


def signature(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return str(signer.signature)


@dataclass
class WeChatSim:
    token: str = TOKEN
    aes_key: str | None = None
    app_id: str = "wx1234567890abcdef"
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def request(self, xml: str, token: str | None = None) -> tuple[dict[str, str], bytes]:
        """(query parameters, body) of a POST /wechat as WeChat sends it."""
        timestamp, nonce = str(int(time.time())), str(self.rng.randrange(10**9))
        query = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": signature(token or self.token, timestamp, nonce),
            "openid": "o_test_user",
        }
        if not self.aes_key:
            return query, xml.encode("utf-8")
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        envelope = crypto.encrypt_message(xml, nonce, timestamp)
        parsed = xmltodict.parse(envelope)["xml"]
        query.update(encrypt_type="aes", msg_signature=parsed["MsgSignature"])
        body = f"<xml><ToUserName><![CDATA[gh_powerdesk]]></ToUserName><Encrypt><![CDATA[{parsed['Encrypt']}]]></Encrypt></xml>"
        return query, body.encode()

    def reply_text(self, body: str, query: dict[str, str]) -> str | None:
        """The content of a passive reply (decrypted in safe mode); None for `success`."""
        if body == "success":
            return None
        if self.aes_key:
            crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
            parsed = xmltodict.parse(body)["xml"]
            body = crypto.decrypt_message(body, parsed["MsgSignature"], parsed["TimeStamp"], parsed["Nonce"])
        return str(xmltodict.parse(body)["xml"]["Content"])
