"""Video providers: each module only translates between our task and one API."""

# The face is the modules: importing the package loads none of them.
__all__ = [
    "ark",
    "base",
    "download",
    "fal",
    "http",
    "keyed",
    "kling",
    "local",
    "lookup",
    "moderation",
    "prompts",
    "registry",
    "remote",
    "render",
    "spec",
    "vendors",
    "wan",
]
