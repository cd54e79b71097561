"""The service's health, as the domain sees it."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    service: str
    status: str
    checked_at: str

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"
