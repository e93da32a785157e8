"""Prometheus metrics of `copilot serve` itself, in a registry of its own."""

from __future__ import annotations

from typing import Callable


class ServiceMetrics:
    def __init__(self, queue_depth: Callable[[], float]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.alerts_received = Counter(
            "copilot_serve_alerts_received", "Alerts received by webhook", ["source"], registry=self.registry)
        self.alerts_duplicate = Counter(
            "copilot_serve_alerts_duplicate", "Alerts received again and skipped", ["source"], registry=self.registry)
        self.investigations = Counter(
            "copilot_serve_investigations", "Investigations finished, by outcome", ["outcome"], registry=self.registry)
        self.failures = Counter(
            "copilot_serve_investigation_failures", "Investigations that failed", registry=self.registry)
        self.duration = Histogram(
            "copilot_serve_investigation_duration_seconds", "Wall time of one investigation",
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 900), registry=self.registry)
        self.deliveries = Counter(
            "copilot_serve_deliveries", "Chat deliveries, by target and outcome", ["target", "outcome"],
            registry=self.registry)
        self.chat_questions = Counter(
            "copilot_serve_chat_questions", "Chat questions, by platform and outcome", ["platform", "outcome"],
            registry=self.registry)
        self.chat_decisions = Counter(
            "copilot_serve_chat_decisions", "Approve / deny clicks and replies on remediation proposals, by outcome",
            ["platform", "outcome"], registry=self.registry)
        self.rejected = Counter(
            "copilot_serve_requests_rejected", "Requests refused, by reason", ["reason"], registry=self.registry)
        depth = Gauge("copilot_serve_queue_depth", "Investigations queued or running", registry=self.registry)
        depth.set_function(queue_depth)

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
