"""Retention sweeps: uploaded photos past their delete-after time, and old nginx logs."""
