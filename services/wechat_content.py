"""The WeChat channel's data: the menu (data/wechat/menu.yml) and its texts (data/wechat/texts.yml)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.datafiles import read_yaml_mapping
from core.errors import DataError

MENU_TYPES = ("click", "view")


class _Button(Protocol):
    @property
    def title(self) -> str: ...


class Reply(Protocol):
    """What is rendered of a bot reply (the api's `Reply`)."""

    @property
    def text(self) -> str: ...

    @property
    def buttons(self) -> Sequence[_Button]: ...


@dataclass(frozen=True)
class WeChatContent:
    buttons: list[dict[str, Any]]  # the menu as in menu.yml
    clicks: dict[str, str]  # CLICK key → what the customer is taken to have sent
    texts: dict[str, Any]

    def say(self, key: str, **values: Any) -> str:
        node: Any = self.texts
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, str):
            raise DataError(f"data/wechat/texts.yml has no text {key!r}; add it")
        return node.format(**values)

    def unsupported(self, msg_type: str) -> str:
        kind = msg_type if msg_type in self.texts.get("unsupported", {}) else "unknown"
        kind = "video" if msg_type == "shortvideo" else kind
        return self.say(f"unsupported.{kind}")

    def welcome(self) -> str:
        labels = [b["name"] for top in self.buttons for b in (top.get("sub_button") or [top])]
        return "\n".join([self.say("welcome"), *(self.say("menu_line", name=n) for n in labels)])

    def render(self, replies: Sequence[Reply]) -> list[str]:
        """Replies as WeChat texts: buttons cannot be tapped in a text message, so they become lines."""
        out = []
        for reply in replies:
            lines = [reply.text] if reply.text else []
            if reply.buttons:
                lines.append(self.say("buttons_intro"))
                lines += [self.say("button_line", title=b.title) for b in reply.buttons]
            if lines:
                out.append("\n".join(lines))
        return out

    def menu_payload(self) -> dict[str, Any]:
        """The body of WeChat's menu/create: only the fields WeChat knows."""

        def button(b: dict[str, Any]) -> dict[str, Any]:
            if b.get("sub_button"):
                return {"name": b["name"], "sub_button": [button(s) for s in b["sub_button"]]}
            item = {"type": b["type"], "name": b["name"]}
            item.update({"key": b["key"]} if b["type"] == "click" else {"url": b["url"]})
            return item

        return {"button": [button(b) for b in self.buttons]}


def _check_menu(buttons: Any, path: Path) -> dict[str, str]:
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise DataError(f"{path}: `buttons` must list 1 to 3 top-level buttons (WeChat's limit)")
    clicks: dict[str, str] = {}
    for top in buttons:
        subs = top.get("sub_button") if isinstance(top, dict) else None
        if not isinstance(top, dict) or not isinstance(top.get("name"), str):
            raise DataError(f"{path}: every button needs a `name`; got {top!r}")
        if subs is not None and not (isinstance(subs, list) and 1 <= len(subs) <= 5):
            raise DataError(f"{path}: {top['name']}: `sub_button` must list 1 to 5 buttons")
        for b in subs or [top]:
            if not isinstance(b, dict) or b.get("type") not in MENU_TYPES or not isinstance(b.get("name"), str):
                raise DataError(f"{path}: button {b!r} needs a name and a type of {MENU_TYPES}")
            if b["type"] == "view":
                if not isinstance(b.get("url"), str):
                    raise DataError(f"{path}: view button {b['name']} needs a `url`")
                continue
            key, text = b.get("key"), b.get("text")
            if not isinstance(key, str) or not isinstance(text, str) or not text.strip():
                raise DataError(f"{path}: click button {b['name']} needs a `key` and the `text` it stands for")
            if key in clicks:
                raise DataError(f"{path}: the key {key} is used twice; keys must be unique")
            clicks[key] = text
    return clicks


def load_content(data_dir: Path) -> WeChatContent:
    menu, texts = (read_yaml_mapping(data_dir / "wechat" / name) for name in ("menu.yml", "texts.yml"))
    clicks = _check_menu(menu.get("buttons"), data_dir / "wechat" / "menu.yml")
    content = WeChatContent(buttons=menu["buttons"], clicks=clicks, texts=texts)
    for key in (
        "welcome",
        "menu_line",
        "button_line",
        "buttons_intro",
        "unsupported.unknown",
        "unknown_menu",
        "rate_limited",
        "invalid",
    ):
        content.say(key, name="", title="")
    return content
