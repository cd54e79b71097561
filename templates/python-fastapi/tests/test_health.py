import unittest

from src.application.health_service import HealthService


class HealthTest(unittest.TestCase):
    def test_reports_healthy_with_the_clock(self):
        h = HealthService("{{service}}", lambda: "2024-01-01T00:00:00+00:00").check()
        self.assertTrue(h.healthy)
        self.assertEqual(h.service, "{{service}}")
        self.assertEqual(h.checked_at, "2024-01-01T00:00:00+00:00")


if __name__ == "__main__":
    unittest.main()
