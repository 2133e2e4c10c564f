"""App Store purchases: verifyReceipt, signed transactions, server notifications, refunds.

Every consumable transaction is credited once, keyed by its transaction id; refunds
claw the credits back through the ledger.
"""
