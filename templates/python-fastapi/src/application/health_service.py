"""Use case: report the service's health."""
from typing import Callable

from src.domain.health import Health


class HealthService:
    def __init__(self, service: str, clock: Callable[[], str]):
        self._service = service
        self._clock = clock

    def check(self) -> Health:
        return Health(service=self._service, status="healthy", checked_at=self._clock())
