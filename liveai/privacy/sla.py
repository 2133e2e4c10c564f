"""The response deadline the policy promises for data-subject requests."""

from __future__ import annotations

SLA_WORKING_DAYS = 15


def response_working_days() -> int:
    """Working days to answer a request and to delete an account (policy §5 and §9)."""
    return SLA_WORKING_DAYS
