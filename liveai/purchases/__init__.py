"""App Store purchases: verifyReceipt, signed transactions, server notifications, refunds.

Every consumable transaction is credited once, keyed by its transaction id; refunds
claw the credits back through the ledger.
"""

# The face is the modules: importing the package loads none of them.
__all__ = [
    "catalog",
    "consumption",
    "health",
    "jws",
    "ledger_port",
    "notifications",
    "operations",
    "receipts",
    "server_api",
    "service",
    "transactions",
]
