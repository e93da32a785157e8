"""Kubernetes read live, read-only, through the official `kubernetes` client.

Only `list` and `read log` calls are made. Objects are kept as the API's own JSON
(`_preload_content=False`), the shape `kubectl get -o json` prints, so the live and the
saved state are read by the same code. Lists page with `limit`/`continue` up to the
source's cap. An RBAC refusal (403) of a kind the investigation can do without (nodes for
a namespaced user, HPAs, quotas, ...) is noted and the rest is read; a refusal to list pods
or events ends the run with one line that says what to grant.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from copilot.errors import CopilotError

from copilot.plugins.telemetry.model import LogRecord, Platform

from . import objects

PAGE = 500
LOG_PODS = 20  # logs are read for at most this many troubled pods...
LOG_LINES = 200  # ...this many lines each (the previous container's when it restarted)
REQUIRED = ("pods", "events")

# field of Platform -> (API class, cluster-wide list method, namespaced list method or None)
LISTS: dict[str, tuple[str, str, str | None]] = {
    "pods": ("CoreV1Api", "list_pod_for_all_namespaces", "list_namespaced_pod"),
    "events": ("CoreV1Api", "list_event_for_all_namespaces", "list_namespaced_event"),
    # the same events through events.k8s.io/v1 (richer: series, reportingController); deduplicated by uid
    "events_v1": ("EventsV1Api", "list_event_for_all_namespaces", "list_namespaced_event"),
    # TLS Secrets, for certificate expiry; only the certificate's notAfter is kept (objects.tls_secret_certificate)
    "secrets": ("CoreV1Api", "list_secret_for_all_namespaces", "list_namespaced_secret"),
    "nodes": ("CoreV1Api", "list_node", None),
    "deployments": ("AppsV1Api", "list_deployment_for_all_namespaces", "list_namespaced_deployment"),
    "replicasets": ("AppsV1Api", "list_replica_set_for_all_namespaces", "list_namespaced_replica_set"),
    "statefulsets": ("AppsV1Api", "list_stateful_set_for_all_namespaces", "list_namespaced_stateful_set"),
    "daemonsets": ("AppsV1Api", "list_daemon_set_for_all_namespaces", "list_namespaced_daemon_set"),
    "jobs": ("BatchV1Api", "list_job_for_all_namespaces", "list_namespaced_job"),
    "hpas": ("AutoscalingV2Api", "list_horizontal_pod_autoscaler_for_all_namespaces",
             "list_namespaced_horizontal_pod_autoscaler"),
    "pvcs": ("CoreV1Api", "list_persistent_volume_claim_for_all_namespaces", "list_namespaced_persistent_volume_claim"),
    "quotas": ("CoreV1Api", "list_resource_quota_for_all_namespaces", "list_namespaced_resource_quota"),
    "services": ("CoreV1Api", "list_service_for_all_namespaces", "list_namespaced_service"),
    "endpoints": ("CoreV1Api", "list_endpoints_for_all_namespaces", "list_namespaced_endpoints"),
}
# Extra arguments of a list call: only TLS Secrets are asked for (the API filters them).
LIST_ARGS: dict[str, dict[str, str]] = {"secrets": {"field_selector": "type=kubernetes.io/tls"}}
KIND_OF_LIST = {"pods": "Pod", "events": "Event", "events_v1": "Event", "secrets": "Secret", "nodes": "Node", "deployments": "Deployment",
                "replicasets": "ReplicaSet", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet", "jobs": "Job",
                "hpas": "HorizontalPodAutoscaler", "pvcs": "PersistentVolumeClaim", "quotas": "ResourceQuota",
                "services": "Service", "endpoints": "Endpoints"}


class KubernetesApi:
    """One cluster through one kubeconfig context."""

    def __init__(self, kubeconfig: str = "", context: str = "", timeout: float = 30.0) -> None:
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException

        try:
            self.client = config.new_client_from_config(config_file=kubeconfig or None, context=context or None,
                                                        persist_config=False)
        except ConfigException as exc:
            where = kubeconfig or "~/.kube/config"
            raise CopilotError(f"kubernetes_kubeconfig {where}: {exc}; point it at a kubeconfig with the context "
                               f"{context or '(current)'}") from None
        except OSError as exc:
            raise CopilotError(f"kubernetes_kubeconfig {kubeconfig}: cannot be read ({exc.strerror}); fix the path") from None
        self.host = self.client.configuration.host
        self.timeout = timeout

    def close(self) -> None:
        self.client.close()

    def _api(self, cls: str) -> Any:
        import kubernetes.client

        return getattr(kubernetes.client, cls)(self.client)

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One API call, its JSON body parsed; failures become one line."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            resp = fn(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
            raw = resp.data
        except ApiException as exc:
            raise ApiRefusal(exc.status or 0, what, _reason(exc), self.host) from None
        except HTTPError as exc:
            raise CopilotError(f"cannot reach the Kubernetes API at {self.host} ({type(exc).__name__}); "
                               "check kubernetes_context and that the cluster is reachable from here") from None
        if what.endswith(" log"):
            return raw.decode("utf-8", "replace")
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise CopilotError(f"the Kubernetes API at {self.host} answered {what} with something that is not JSON; "
                               "is the kubeconfig's server a Kubernetes API?") from None

    def list(self, name: str, namespaces: tuple[str, ...], cap: int) -> list[dict[str, Any]]:
        cls, everywhere, namespaced = LISTS[name]
        api = self._api(cls)
        scopes: list[tuple[Callable[..., Any], tuple[Any, ...]]]
        if namespaces and namespaced:
            scopes = [(getattr(api, namespaced), (ns,)) for ns in namespaces]
        else:
            scopes = [(getattr(api, everywhere), ())]
        out: list[dict[str, Any]] = []
        for fn, args in scopes:
            token = ""
            while len(out) < cap:
                kwargs: dict[str, Any] = {"limit": min(PAGE, cap - len(out)), **LIST_ARGS.get(name, {})}
                if token:
                    kwargs["_continue"] = token
                body = self.call(name, fn, *args, **kwargs)
                out.extend(objects.items_of({**body, "kind": body.get("kind") or KIND_OF_LIST[name] + "List"}))
                token = str((body.get("metadata") or {}).get("continue") or "")
                if not token:
                    break
        return out[:cap]

    def pod_log(self, namespace: str, pod: str, container: str, previous: bool) -> str:
        api = self._api("CoreV1Api")
        return self.call(f"{namespace}/{pod} log", api.read_namespaced_pod_log, pod, namespace, container=container,
                         tail_lines=LOG_LINES, timestamps=True, previous=previous)


class ApiRefusal(CopilotError):
    def __init__(self, status: int, what: str, reason: str, host: str) -> None:
        self.status = status
        self.what = what
        if status == 403:
            text = (f"Kubernetes refused to list {what} (RBAC 403: {reason}); grant get/list on {what} to this "
                    "user, or set kubernetes_namespaces to namespaces it may read")
        elif status == 401:
            text = f"the Kubernetes API at {host} refused the credentials (401); refresh the kubeconfig's token"
        else:
            text = f"the Kubernetes API at {host} answered {status} to listing {what}: {reason}"
        super().__init__(text)


def _reason(exc: Any) -> str:
    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("message") or exc.reason or "").strip()
    except (TypeError, ValueError):
        return str(exc.reason or "").strip()


def read_cluster(api: KubernetesApi, namespaces: tuple[str, ...], cap: int) -> tuple[Platform, list[LogRecord], list[str]]:
    """Everything the detectors read, plus the logs of the troubled pods; notes name what was refused."""
    platform = Platform()
    notes: list[str] = []
    seen_events: set[str] = set()  # core/v1 and events.k8s.io/v1 list the same events: one each
    for name in LISTS:
        try:
            items = api.list(name, namespaces, cap)
        except ApiRefusal as exc:
            if name in REQUIRED or exc.status not in (403, 404):
                raise
            notes.append(str(exc))
            continue
        if name in ("events", "events_v1"):
            fresh = []
            for item in items:
                uid = str(objects.meta(item).get("uid") or "")
                if not uid or uid not in seen_events:
                    seen_events.add(uid)
                    fresh.append(item)
            items = fresh
        objects.add_objects(platform, items)
    objects.resolve_owners(platform)
    platform.captured_at = time.time()
    logs: list[LogRecord] = []
    for pod, container, previous in troubled(platform)[:LOG_PODS]:
        m = objects.meta(pod)
        try:
            text = api.pod_log(m.get("namespace", ""), m.get("name", ""), container, previous)
        except ApiRefusal as exc:
            notes.append(str(exc))
            break
        logs += log_records(text, platform, objects.key(pod))
    return platform, logs, notes


def troubled(platform: Platform) -> list[tuple[dict[str, Any], str, bool]]:
    """Pods worth reading logs of: (pod, container, read the previous container's log)."""
    out = []
    for pod in platform.pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            restarted = int(cs.get("restartCount") or 0) > 0
            if restarted or waiting.get("reason") == "CrashLoopBackOff" or not cs.get("ready", True):
                out.append((pod, str(cs.get("name") or ""), restarted))
    return out


def log_records(text: str, platform: Platform, pod_key: str) -> list[LogRecord]:
    from .dump import pod_log_records

    return pod_log_records(text.splitlines(), pod_key, platform)
