"""Privacy: the data inventory, the policy, data-subject requests, the working-day calendar."""

# The face is the modules: importing the package loads none of them.
__all__ = [
    "calendar",
    "changes",
    "charts",
    "consent_rules",
    "consents",
    "document",
    "erasure",
    "erasure_tasks",
    "erasure_text",
    "export",
    "facts",
    "inventory",
    "inventory_types",
    "labels",
    "lint",
    "policy",
    "report",
    "report_render",
    "requests",
    "ropa",
    "steps",
    "subjects",
    "upstream",
    "versions",
]
