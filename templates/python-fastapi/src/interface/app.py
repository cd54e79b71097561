"""HTTP interface (FastAPI): /health and /."""
import os

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from src.application.health_service import HealthService
from src.infrastructure.clock import now_iso

SERVICE = os.environ.get("SERVICE_NAME", "{{service}}")
health = HealthService(SERVICE, now_iso)
app = FastAPI(title=SERVICE)


@app.get("/health")
def get_health():
    h = health.check()
    return JSONResponse({"status": h.status, "service": h.service, "checked_at": h.checked_at},
                        status_code=200 if h.healthy else 503)


@app.get("/")
def get_root():
    return {"service": SERVICE, "docs": "/docs", "health": "/health"}
