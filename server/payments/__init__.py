"""Credits: the ledger, and buying them with Razorpay (orders, Checkout, webhooks, refunds)."""
