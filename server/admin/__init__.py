"""The admin console's server side: everything under /api/admin and the admin socket.

Every route is for administrators only (``CurrentAdmin``); a candidate gets 404, as for
anything that is not theirs. Every change an admin makes is written to the audit log
(``audit.record``) in the same transaction as the change.
"""
