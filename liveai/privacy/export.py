"""The access and portability bundle (GDPR art. 15 and 20, PIPL art. 45): one zip file.

It holds a JSON document per user-linked table the inventory marks as exported, the
user's media (uploads still retained, result videos of works not deleted), a bilingual
HTML summary of what is held, why, for how long and who received it, and a manifest with
the SHA-256 of every file. Rows are streamed from the database and media from storage
one object at a time, so memory stays flat whatever the size.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import jinja2
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.models import Base, DataTransfer, Task, Upload, User
from liveai.privacy.document import fill, values
from liveai.privacy.facts import load_facts
from liveai.privacy.inventory import DEFAULT_INVENTORY, user_linked_tables
from liveai.privacy.inventory_types import Inventory
from liveai.privacy.policy import policy_version
from liveai.private_files import replacing
from liveai.settings import Settings
from liveai.storage import Storage

FORMAT = "liveai-export/1"
SECRET_COLUMNS = frozenset({"refresh_token_encrypted", "lease_owner"})
HIDDEN_ROWS = {"tasks": Task.deleted_at, "uploads": Upload.deleted_at}


@dataclass
class ExportManifest:
    subject: str
    generated_at: str
    policy_version: str
    files: list[dict[str, Any]] = field(default_factory=list)


class _HashingWriter:
    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)


def _jsonable(value: Any) -> Any:
    """json.dumps' fallback: only values JSON has no type for come here."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot export a {type(value).__name__}")


class ExportWriter:
    def __init__(self, archive: zipfile.ZipFile, manifest: ExportManifest) -> None:
        self.archive = archive
        self.manifest = manifest

    def write_stream(self, name: str, chunks: Iterator[bytes], *, compress: bool = True) -> None:
        entry = zipfile.ZipInfo(name)
        entry.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        with self.archive.open(entry, "w", force_zip64=True) as raw:
            writer = _HashingWriter(raw)
            for chunk in chunks:
                writer.write(chunk)
        self.manifest.files.append(
            {"path": name, "sha256": writer.sha256.hexdigest(), "bytes": writer.size}
        )


def _rows_json(
    session: Session, table: Table, user_id: uuid.UUID, counts: dict[str, int]
) -> Iterator[bytes]:
    """The user's rows of one table as a JSON array, streamed a thousand rows at a time."""
    owner = table.c.id if table.name == "users" else table.c.user_id
    columns = [c for c in table.columns if c.name not in SECRET_COLUMNS]
    query = select(*columns).where(owner == user_id)
    hidden = HIDDEN_ROWS.get(table.name)
    if hidden is not None:
        query = query.where(hidden.is_(None))
    query = query.order_by(*table.primary_key.columns).execution_options(yield_per=1000)
    encode = json.JSONEncoder(ensure_ascii=False, default=_jsonable).encode
    counts[table.name] = 0
    opening = b"["
    for batch in session.execute(query).partitions():
        lines = ",\n".join(encode(row._asdict()) for row in batch)
        separator = ",\n" if counts[table.name] else "\n"
        yield opening + (separator + lines).encode()
        counts[table.name] += len(batch)
        opening = b""
    yield opening + b"\n]\n"


def exported_tables(inventory: Inventory) -> list[Table]:
    linked = set(user_linked_tables(Base.metadata))
    return [
        table
        for table in Base.metadata.sorted_tables
        if table.name in linked and (rule := inventory.table_rule(table.name)) and rule.exported
    ]


def _media(session: Session, user_id: uuid.UUID) -> list[tuple[str, str]]:
    """(storage key, path in the bundle) of every retained upload and kept result."""
    uploads = session.scalars(
        select(Upload.storage_key).where(Upload.user_id == user_id, Upload.deleted_at.is_(None))
    ).all()
    results = session.execute(
        select(Task.result_key, Task.poster_key).where(
            Task.user_id == user_id, Task.deleted_at.is_(None)
        )
    ).all()
    keys = [*uploads, *(k for pair in results for k in pair if k)]
    return [(key, "media/" + key.split("/", 2)[2]) for key in keys]


def _summary(
    session: Session,
    inventory: Inventory,
    settings: Settings,
    user_id: uuid.UUID,
    counts: dict[str, int],
    generated_at: str,
) -> str:
    recipients = session.execute(
        select(DataTransfer.provider, DataTransfer.region, func.count())
        .where(DataTransfer.user_id == user_id)
        .group_by(DataTransfer.provider, DataTransfer.region)
        .order_by(DataTransfer.provider)
    ).all()
    providers = {t.provider: t for t in inventory.third_parties if t.provider}
    return (
        summary_environment(inventory, settings)
        .get_template("summary.html.j2")
        .render(
            inventory=inventory,
            counts=counts,
            generated_at=generated_at,
            subject=str(user_id),
            recipients=[
                {"provider": p, "region": r, "count": n, "party": providers.get(p)}
                for p, r, n in recipients
            ],
        )
    )


def summary_environment(inventory: Inventory, settings: Settings) -> jinja2.Environment:
    """The summary's templates, with the policy's `zh`/`en` filters: prose is filled from
    the same inventory and settings as the policy, so both state the same periods."""
    filled = values(inventory, settings, load_facts(settings.policy_facts_file, inventory))
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("liveai", "templates/export"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(zh=lambda text: fill(text, filled).zh, en=lambda text: fill(text, filled).en)
    return env


def export_user(
    session: Session,
    storage: Storage,
    user_ref: uuid.UUID,
    out: Path,
    *,
    settings: Settings,
    inventory: Inventory = DEFAULT_INVENTORY,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> ExportManifest:
    """Write the bundle to ``out``, 0600 (written to a fresh temporary name, then renamed)."""
    user = session.get_one(User, user_ref)
    facts = load_facts(settings.policy_facts_file, inventory)
    manifest = ExportManifest(
        subject=str(user.id),
        generated_at=clock.now().isoformat(),
        policy_version=policy_version(inventory, settings, facts),
    )
    with (
        replacing(out) as partial,
        zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        _write_bundle(
            session, storage, inventory, settings, user.id, ExportWriter(archive, manifest)
        )
    audit.record(
        session,
        "privacy.exported",
        user_id=user.id,
        actor=actor,
        clock=clock,
        details={"files": len(manifest.files)},
    )
    return manifest


def _write_bundle(
    session: Session,
    storage: Storage,
    inventory: Inventory,
    settings: Settings,
    user_id: uuid.UUID,
    writer: ExportWriter,
) -> None:
    counts: dict[str, int] = {}
    for table in exported_tables(inventory):
        writer.write_stream(f"data/{table.name}.json", _rows_json(session, table, user_id, counts))
    for key, path in _media(session, user_id):
        writer.write_stream(path, iter([storage.get(key)]), compress=False)  # already compressed
    generated_at = writer.manifest.generated_at
    summary = _summary(session, inventory, settings, user_id, counts, generated_at)
    writer.write_stream("summary.html", iter([summary.encode()]))
    document = {"format": FORMAT, **writer.manifest.__dict__}
    writer.archive.writestr("manifest.json", json.dumps(document, indent=2, ensure_ascii=False))
