"""/api/admin: every admin endpoint, for administrators only (others get 404)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from server.admin import audit_routes, bank, monitor, payments, stats, users
from server.auth.deps import current_admin
from server.errors import error_responses

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(current_admin)],
    responses=error_responses(401, 404),
)
router.include_router(users.router)
router.include_router(audit_routes.router)
router.include_router(bank.router)
router.include_router(stats.router)
router.include_router(monitor.router)
router.include_router(payments.router)
