"""The JSON each command prints with --json: its top-level keys, shown in its help.

`App.command` adds the line to the command's help, so `--help` and the generated
docs/cli.md document every shape; tests/cli/test_shapes.py runs the commands and fails
when a shape changes without this table changing with it. "an array of {...}" is a
list command (its --nl prints the same objects one per line).
"""

from __future__ import annotations

TASK = (
    "{id, user_id, state, prompt, motion, duration_s, provider, provider_task_id, attempts, "
    "skipped, price, charged, result_key, poster_key, error_code, error, created_at, submitted_at, "
    "finished_at, transfers}"
)
USER = "{id, status, display_name, email, identities, created_at, updated_at}"
TRANSFER = (
    "{id, key, kind, phase, user_id, amount, shortfall, pending_id, state, expires_at, "
    "reference, reason, actor, created_at}"
)
REQUEST = (
    "{id, user_id, kind, state, channel, region, zone, received_at, received_on, due_on, "
    "due_basis, due_provisional, gdpr_due_on, days_left, working_days_left, overdue, "
    "verification, extension_reason, refusal_reason, completed_at, completed_on, on_time, "
    "working_days_late, completion_note}"
)
DEVICE = (
    "{id, user_id, token, environment, app_version, ios_version, locale, created_at, last_seen_at}"
)
PUSH = "an array of {device_id, token, environment, outcome, status, reason, attempts, apns_id}"
CREDITED = "{user_id, environment, credited, transactions}"
ERASURE = (
    "{run_id, user_id, request_id, steps_done, started_at, completed_at, skipped, manual, "
    "objects_deleted, rows_deleted, rows_pseudonymised, ...}; with --dry-run "
    "{user_id, dry_run, rows, storage_objects, recipients, manual}"
)

SHAPES: dict[str, str] = {
    "doctor": "{ok, checks}, each check {name, ok, status, detail}",
    "config show": "an array of {name, value, source, variable, description}",
    "db upgrade": "{revision, up_to_date}",
    "db current": "{current, heads, applied, total, up_to_date}",
    "db check": "{ok, differences}",
    "users create": USER,
    "users show": USER,
    "users list": f"an array of {USER}",
    "users rename": USER,
    "users erase": ERASURE,
    "credits balance": "{user_id, available, pending, posted}",
    "credits history": f"an array of {TRANSFER[:-1]}, delta}}",
    "credits show": f"{TRANSFER[:-1]}, delta}}",
    "credits grant": f"{TRANSFER[:-1]}, replayed}}",
    "credits revoke": f"{TRANSFER[:-1]}, replayed}}",
    "credits holds": f"an array of {TRANSFER}",
    "credits expire-holds": "{expired}",
    "credits reconcile": "{ok, accounts, transfers, clawback_shortfall, mismatches, problems}",
    "audit list": "an array of {id, at, actor, action, user_id, details, hash}",
    "audit verify": "{ok, checked, first_bad_id, reason, anchors, redacted}",
    "audit anchor": "{anchor, count, hash}",
    "auth verify": "{token, user}",
    "auth bind": "{provider, created, user}",
    "auth apple-exchange": "{user_id, client_id, stored_at}",
    "auth apple-revoke": "{user, revoked}",
    "auth rotate-key": "{rotated}",
    "requests open": REQUEST,
    "requests list": f"an array of {REQUEST[:-1]}, subject}}",
    "requests show": REQUEST,
    "requests verify": REQUEST,
    "requests refuse": REQUEST,
    "requests extend": REQUEST,
    "requests complete": REQUEST,
    "requests steps": (
        "an array of {step, key, open, description, opened_at, confirmed_at, confirmed_by, note}"
    ),
    "requests confirm": REQUEST,
    "requests run": (
        "an export: {subject, generated_at, policy_version, files}; a deletion: "
        "{run_id, user_id, request_id, steps_done, ...}, as `users erase` prints"
    ),
    "privacy export": "{subject, generated_at, policy_version, files}",
    "calendar due": "{received_on, due_on, basis, provisional, cn_due, gdpr_due, calendar_version}",
    "calendar status": (
        "{today, calendar_version, calendar_file, known_years, missing_next_year, warning}"
    ),
    "retention sweep": (
        "{dry_run, now, removed, bytes_removed, batches, failed, late, overdue_left, next_due, "
        "partial_removed, warnings}"
    ),
    "retention logs": "{dry_run, cutoff, removed, bytes_removed, kept, unreadable, live}",
    "retention records": (
        "{dry_run, now, cutoffs, requests_deleted, consents_deleted, data_transfers_deleted, "
        "purchases_deleted, transfers_retired, accounts, warnings}"
    ),
    "retention status": "an array of {category, retention, held, held_bytes, next_due, overdue}",
    "receipts verify": CREDITED,
    "receipts transaction": CREDITED,
    "receipts lookup": "the verified transaction as Apple signed it (its JWS payload)",
    "receipts notify": (
        "{notification_uuid, notification_type, subtype, transaction_id, outcome, duplicate}"
    ),
    "receipts list": (
        "an array of {transaction_id, original_transaction_id, product_id, environment, "
        "quantity, credits, state, source, user_id, transfer_key, purchased_at, created_at}"
    ),
    "receipts notifications": (
        "an array of {notification_uuid, type, subtype, environment, transaction_id, reason, "
        "outcome, signed_at, received_at}"
    ),
    "receipts products": "an array of {product_id, credits}",
    "devices list": f"an array of {DEVICE}",
    "devices add": DEVICE,
    "devices remove": f"{DEVICE[:-1]}, removed}}",
    "push send": PUSH,
    "push test": PUSH,
    "policy lint": "{ok, issues}, each issue {location, code, message}",
    "policy app-privacy": "{tracking, tracking_domains, data_types, client_sdks}",
    "policy versions": (
        "an array of {label, version, updated, effective, published_at, actor, categories, "
        "recipients}"
    ),
    "policy publish": (
        "{label, version, updated, effective, published_at, actor, categories, recipients, created}"
    ),
    "policy diff": "{old, new, needs_consent, material, changes, text_diff}",
    "providers list": (
        "an array of {position, name, model, region, overseas, credentials, enabled, reason, "
        "base_url}"
    ),
    "providers check": "{ok, checks}, each check {name, ok, detail}",
    "storage check": "{ok, storage, versioning, object_lock, blocks_erasure}",
    "storage ls": (
        "an array of {key, size, modified}; with --versions {key, kind, version_id, size, modified}"
    ),
    "intake check": (
        "{width, height, jpeg_bytes, sha256, source_bytes, source_sha256, source_type}"
    ),
    "generate image": f"{TASK[:-1]}, files}}",
    "generate batch": (
        "an array of {line, image, task, state, error, files}; with --dry-run "
        "{items, total, available, payable, valid}"
    ),
    "tasks list": f"an array of {TASK}",
    "tasks show": TASK,
    "tasks cancel": TASK,
    "tasks delete": TASK,
    "tasks download": "an array of {id, state, video, poster}",
    "tasks resume": "{finished, errors, taken_over, held_elsewhere}",
    # Groups from other branches (consents: i19, livephoto: i23).
    "consents list": ("an array of {consent, kind, scope, granted_at, policy_version, source}"),
    "consents history": (
        "an array of {consent, action, at, recorded_at, policy_version, source, evidence, actor}"
    ),
    "consents grant": (
        "{user, consent, action, at, recorded_at, policy_version, source, evidence, actor}"
    ),
    "consents withdraw": (
        "{user, consent, action, at, recorded_at, policy_version, source, evidence, actor, "
        "cancelled_tasks, account_restricted}"
    ),
    "consents required": "an array of {purpose, recipient, role, region, needs, policy}",
    "consents check": "{user, ok, providers}, each provider {provider, missing, why}",
    "livephoto make": "{still, video, content_id, still_time_s, still_size, codec}",
    "livephoto inspect": "{ok, files, pairs}",
    "livephoto motion": "{file, bytes}",
    "livephoto from-task": "{still, video, content_id, still_time_s, still_size, codec}",
}


def shape_of(module: str, command: str | None) -> str | None:
    """The shape line for the command `command` defined in `liveai_cli.<group>`."""
    group = module.rsplit(".", 1)[-1]
    path = command if group == "main" else f"{group} {command}"
    return SHAPES.get(str(path))
