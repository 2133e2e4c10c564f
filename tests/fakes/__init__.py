"""Loopback fakes of the remote APIs, speaking their documented wire formats."""
