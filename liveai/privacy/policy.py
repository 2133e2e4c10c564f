"""Render the privacy policy from the data inventory: Chinese, English or both (Chinese
first), as Markdown, a self-contained HTML page for the app's web view, or plain text.

The templates live in the package (``liveai/templates/policy``; the repository's top-level
``templates/policy`` points there) and are loaded with Jinja2's PackageLoader, so an
installed wheel renders exactly what a checkout does. Rendering is deterministic: the
same inventory and settings give the same bytes, and the version is the SHA-256 of the
bilingual Markdown rendered without its version line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

from liveai.errors import InvalidInput
from liveai.privacy.inventory import Inventory, Text
from liveai.settings import Settings

LANGS: tuple[str, ...] = ("zh", "en", "both")
FORMATS: tuple[str, ...] = ("md", "html", "txt")
VERSION_LENGTH = 12
EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_URL = re.compile(r"https?://[^\s<>\"';;,,)()]+")


@dataclass(frozen=True)
class RenderedPolicy:
    text: str
    version: str
    updated: date
    lang: str
    fmt: str


def values(inventory: Inventory, settings: Settings) -> dict[str, Any]:
    """The numbers and names prose placeholders stand for; retention comes from settings."""
    return {
        "upload_retention_days": settings.upload_retention_days,
        "log_retention_days": settings.log_retention_days,
        "sla_working_days": inventory.sla_working_days,
        "api_host": inventory.operator.api_host,
    }


def fill(text: str, vals: dict[str, Any]) -> str:
    return text.format(**vals)


def zh_date(day: date) -> str:
    return f"{day.year} 年 {day.month} 月 {day.day} 日"


def en_date(day: date) -> str:
    return f"{EN_MONTHS[day.month - 1]} {day.day}, {day.year}"


def _linkify(value: str) -> Markup:
    escaped = str(escape(value))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


def _picker(lang: str) -> Any:
    @jinja2.pass_context
    def pick(context: jinja2.runtime.Context, text: Text) -> str:
        return fill(text.get(lang), context["v"])

    return pick


@lru_cache(maxsize=4)
def environment(fmt: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("liveai", "templates/policy"),
        undefined=jinja2.StrictUndefined,
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(
        zh=_picker("zh"), en=_picker("en"), zh_date=zh_date, en_date=en_date, linkify=_linkify
    )
    return env


def _languages(lang: str) -> list[str]:
    if lang not in LANGS:
        raise InvalidInput(f"unknown language {lang!r}", hint="use zh, en or both")
    return ["zh", "en"] if lang == "both" else [lang]


def _tidy(text: str) -> str:
    # Markdown hard line breaks (two trailing spaces) are the only trailing space kept.
    lines = [line.rstrip() if not line.endswith("  ") else line for line in text.splitlines()]
    joined = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", joined) + "\n"


def _render(
    inventory: Inventory, settings: Settings, lang: str, fmt: str, version: str | None
) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", hint="use md, html or txt")
    langs = _languages(lang)
    template = environment(fmt).get_template(f"policy.{fmt}.j2")
    title = " / ".join("隐私政策" if code == "zh" else "Privacy Policy" for code in langs)
    text = template.render(
        inv=inventory,
        v=values(inventory, settings),
        langs=langs,
        fmt=fmt,
        version=version,
        title=title,
    )
    return _tidy(text)


def policy_version(inventory: Inventory, settings: Settings) -> str:
    """The content hash that names this policy: consents and publications refer to it."""
    body = _render(inventory, settings, "both", "md", None)
    return hashlib.sha256(body.encode()).hexdigest()[:VERSION_LENGTH]


def render_policy(
    inventory: Inventory, settings: Settings, *, lang: str = "both", fmt: str = "md"
) -> RenderedPolicy:
    version = policy_version(inventory, settings)
    text = _render(inventory, settings, lang, fmt, version)
    return RenderedPolicy(text, version, inventory.updated, lang, fmt)
