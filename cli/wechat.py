"""`powerdesk wechat ...`: the official account's menu, from data/wechat/menu.yml."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.console import Console

from core.errors import ConfigError, PowerDeskError
from core.settings import get_settings
from services.wechat_api import make_sender
from services.wechat_content import load_content

wechat_app = typer.Typer(help="The WeChat official account.", no_args_is_help=True)
menu_app = typer.Typer(help="The account's menu (data/wechat/menu.yml).", no_args_is_help=True)
wechat_app.add_typer(menu_app, name="menu")
err = Console(stderr=True)


@menu_app.command("show")
def menu_show() -> None:
    """Print the menu as it would be sent to WeChat (checks the data file)."""
    try:
        content = load_content(get_settings().data_dir)
    except PowerDeskError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(content.menu_payload(), ensure_ascii=False, indent=2))


@menu_app.command("push")
def menu_push() -> None:
    """Create the menu on WeChat (menu/create on WECHAT_API_BASE) from data/wechat/menu.yml."""
    settings = get_settings()
    try:
        content = load_content(settings.data_dir)
        sender = make_sender(settings, settings.redis_url)
        if sender is None:
            raise ConfigError("set WECHAT_APP_ID and WECHAT_APP_SECRET to push the menu")
        result = asyncio.run(sender.create_menu(content.menu_payload()))
    except PowerDeskError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except Exception as exc:  # WeChat refused it (errcode) or could not be reached
        err.print(f"[red]WeChat did not accept the menu: {exc}[/red]")
        raise typer.Exit(1) from exc
    buttons = sum(len(b.get("sub_button") or [b]) for b in content.buttons)
    err.print(f"menu created on {settings.wechat_api_base}: {buttons} buttons ({result.get('errmsg', 'ok')})")
