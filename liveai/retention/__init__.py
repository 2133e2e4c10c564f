"""Retention sweeps: uploaded photos past their delete-after time, and old nginx logs."""

# The face is the modules: importing the package loads none of them.
__all__ = ["nginx_logs", "records", "status", "uploads"]
