"""Credits: the ledger today; Razorpay orders and webhooks build on it."""
