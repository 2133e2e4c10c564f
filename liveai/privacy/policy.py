"""Render the privacy policy from the data inventory and the operator facts: Chinese,
English or both (Chinese first), as Markdown, a self-contained HTML page for the app's web
view, or plain text.

`liveai.privacy.document` builds the policy as facts with both languages; the templates
in the package (``liveai/templates/policy``, loaded with Jinja2's PackageLoader, so an
installed wheel renders exactly what a checkout does) only lay them out. Rendering is
deterministic. The version is the SHA-256 of the inventory, the operator facts, the
bilingual Markdown (which carries every setting that reaches the text) and the templates;
the dates and label publishing adds are not part of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import jinja2
from markupsafe import Markup, escape

from liveai.errors import InvalidInput
from liveai.privacy.document import (
    Block,
    Dates,
    Fact,
    Source,
    build,
    required_consent_needs,
)
from liveai.privacy.facts import EMPTY, OperatorFacts, facts_json
from liveai.privacy.inventory_types import Inventory
from liveai.settings import Settings

LANGS: tuple[str, ...] = ("zh", "en", "both")
FORMATS: tuple[str, ...] = ("md", "html", "txt")
VERSION_LENGTH = 12
POLICY_TEMPLATES = ("policy.", "content.", "macros_")
"""The templates that lay out the policy text (the ROPA and the lists have their own)."""
_URL = re.compile(r"https?://[^\s<>\"';;,,)()\]]+")


@dataclass(frozen=True)
class RenderedPolicy:
    text: str
    version: str
    lang: str
    fmt: str
    dates: Dates | None
    blocks: tuple[Block, ...]


def _linkify(value: str) -> Markup:
    escaped = str(escape(value))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


def _pick(fact: Fact, lang: str) -> str:
    return fact.get(lang)


@lru_cache(maxsize=4)
def environment(fmt: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("liveai", "templates/policy"),
        undefined=jinja2.StrictUndefined,
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pick=_pick, linkify=_linkify)
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


def source(inventory: Inventory, settings: Settings, facts: OperatorFacts = EMPTY) -> Source:
    return Source(inventory, settings, facts, required_consent_needs(inventory))


def _render(blocks: list[Block], lang: str, fmt: str, version: str | None) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", hint="use md, html or txt")
    langs = _languages(lang)
    template = environment(fmt).get_template(f"policy.{fmt}.j2")
    title = " / ".join("隐私政策" if code == "zh" else "Privacy Policy" for code in langs)
    text = template.render(blocks=blocks, langs=langs, fmt=fmt, version=version, title=title)
    return _tidy(text)


def template_sources() -> str:
    folder = resources.files("liveai").joinpath("templates/policy")
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith(POLICY_TEMPLATES))
    return "".join(f"{name}\n{folder.joinpath(name).read_text(encoding='utf-8')}" for name in names)


def policy_version(inventory: Inventory, settings: Settings, facts: OperatorFacts = EMPTY) -> str:
    """The content hash that names this policy: consents and publications refer to it."""
    body = _render(build(source(inventory, settings, facts), None, None), "both", "md", None)
    identity = json.dumps(
        {
            "inventory": dataclasses.asdict(inventory),
            "facts": facts_json(facts),
            "text": body,
            "templates": template_sources(),
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:VERSION_LENGTH]


def render_policy(
    inventory: Inventory,
    settings: Settings,
    facts: OperatorFacts = EMPTY,
    *,
    lang: str = "both",
    fmt: str = "md",
    dates: Dates | None = None,
) -> RenderedPolicy:
    version = policy_version(inventory, settings, facts)
    blocks = build(source(inventory, settings, facts), dates, version)
    text = _render(blocks, lang, fmt, version)
    return RenderedPolicy(text, version, lang, fmt, dates, tuple(blocks))
