"""Live AWS through boto3 (`pip install 'sre-copilot[aws]'`), read-only.

For each DB instance in `cloudwatch_resources`, for the run's window and its baseline:
CloudWatch `GetMetricData` (namespace AWS/RDS, dimension DBInstanceIdentifier, the metrics of
`cloudwatch_metrics`), RDS `DescribeEvents`, and when Performance Insights is on
(`DescribeDBInstances`), PI `GetResourceMetrics` (db.load.avg, total and by wait event) and
`DescribeDimensionKeys` (top SQL and top wait events over the window). The answers go through
the same readers as saved AWS CLI output (shapes.py). Credentials and region come from the
usual AWS chain, `cloudwatch_profile` and `cloudwatch_region`; `cloudwatch_endpoint_url`
points every client at one endpoint (a VPC endpoint, or a test server).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from copilot.errors import ConfigError, CopilotError
from copilot.sources import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S, SourceCheck, SourceQuery
from copilot.plugins.telemetry.model import Telemetry

from .shapes import Parsed, metric_data, pi_keys, pi_metrics, rds_events

DEFAULT_METRICS = ("CPUUtilization", "FreeStorageSpace", "DatabaseConnections", "ReplicaLag", "WriteIOPS",
                   "WriteThroughput", "ReadIOPS", "FreeableMemory", "DiskQueueDepth")
STATS = {"FreeStorageSpace": "Minimum", "DatabaseConnections": "Maximum", "ReplicaLag": "Maximum"}
DEFAULT_PERIOD = 60
TOP_KEYS = 10
PI_GROUPS = ("db.sql_tokenized", "db.wait_event")


def _names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return tuple(str(v).strip() for v in items if str(v).strip())


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


class LiveAwsSource:
    name = "cloudwatch"
    kinds = frozenset({"metrics", "changes", "alerts"})
    live = True

    def __init__(self, resources: tuple[str, ...], region: str = "", profile: str = "", endpoint_url: str = "",
                 metrics: tuple[str, ...] = DEFAULT_METRICS, period: int = DEFAULT_PERIOD,
                 timeout: float = DEFAULT_TIMEOUT_S, retries: int = DEFAULT_RETRIES) -> None:
        self.resources, self.region, self.profile, self.endpoint_url = resources, region, profile, endpoint_url
        self.metrics, self.period, self.timeout, self.retries = metrics, period, timeout, retries
        where = region or "the default region"
        self.label = f"AWS CloudWatch, RDS and Performance Insights in {where} ({', '.join(resources)})"

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "LiveAwsSource":
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise ConfigError("cloudwatch_resources is set but boto3 is not installed; pip install 'sre-copilot[aws]'") from None
        resources = _names(options.get("resources"))
        try:
            period = int(options.get("period") or DEFAULT_PERIOD)
            timeout = float(options.get("timeout") or DEFAULT_TIMEOUT_S)
            retries = int(options.get("retries") or DEFAULT_RETRIES)
        except (TypeError, ValueError):
            raise ConfigError("cloudwatch_period, cloudwatch_timeout and cloudwatch_retries must be numbers") from None
        if period < 1 or (period < 60 and period not in (1, 5, 10, 30)):
            raise ConfigError(f"cloudwatch_period must be 1, 5, 10, 30 or a multiple of 60 seconds, got {period}")
        endpoint = str(options.get("endpoint_url") or "").strip()
        if endpoint and "://" not in endpoint:
            raise ConfigError(f"cloudwatch_endpoint_url must start with http:// or https://, got {endpoint!r}")
        return cls(resources, str(options.get("region") or "").strip(), str(options.get("profile") or "").strip(),
                   endpoint, _names(options.get("metrics")) or DEFAULT_METRICS, period, timeout, retries)

    # ---- clients -------------------------------------------------------------------------

    def clients(self) -> tuple[Any, Any, Any]:
        return tuple(self.client(s) for s in ("cloudwatch", "rds", "pi"))  # type: ignore[return-value]

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ProfileNotFound

        try:
            session = boto3.Session(profile_name=self.profile or None, region_name=self.region or None)
        except ProfileNotFound:
            raise ConfigError(f"cloudwatch_profile {self.profile!r} is not in your AWS config; fix the name") from None
        if not session.region_name:
            raise ConfigError("no AWS region; set cloudwatch_region (or AWS_REGION)")
        config = Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                        retries={"max_attempts": max(1, self.retries), "mode": "standard"})
        extra = {"endpoint_url": self.endpoint_url} if self.endpoint_url else {}
        try:
            return session.client(service, config=config, **extra)  # type: ignore[call-overload]
        except BotoCoreError as exc:
            raise CopilotError(f"AWS clients could not be made: {exc}") from None

    def call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """One API call; every AWS failure becomes one line saying what to fix."""
        from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError,
                                         PartialCredentialsError)

        try:
            return fn(**kwargs)
        except (NoCredentialsError, PartialCredentialsError):
            raise CopilotError("no AWS credentials; set AWS_PROFILE (or cloudwatch_profile), or AWS_ACCESS_KEY_ID and "
                               "AWS_SECRET_ACCESS_KEY") from None
        except EndpointConnectionError as exc:
            raise CopilotError(f"AWS is unreachable at {exc.kwargs.get('endpoint_url', 'its endpoint')}; check the network "
                               "or cloudwatch_endpoint_url") from None
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code, message = str(err.get("Code") or "error"), str(err.get("Message") or "")
            if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NotAuthorized",
                        "NotAuthorizedException"):
                raise CopilotError(f"AWS refused {what} ({code}); grant the read-only permission for it "
                                   "(cloudwatch:GetMetricData, rds:Describe*, pi:GetResourceMetrics, "
                                   "pi:DescribeDimensionKeys)") from None
            if code in ("DBInstanceNotFound", "DBInstanceNotFoundFault"):
                raise CopilotError(f"{what}: no such DB instance; fix cloudwatch_resources ({message})") from None
            raise CopilotError(f"AWS {what} failed: {code}: {message[:200]}") from None
        except BotoCoreError as exc:
            raise CopilotError(f"AWS {what} failed: {exc}") from None

    # ---- collect ---------------------------------------------------------------------------

    def collect(self, query: SourceQuery) -> Telemetry:
        from .folder import telemetry_of

        if not self.resources:
            raise ConfigError("cloudwatch_resources is empty; name the DB instances, e.g. orders-db,orders-db-replica")
        cw, rds, pi = self.clients()
        start, end = _utc(query.start), _utc(query.end)
        parsed = Parsed()
        for res in self.resources:
            parsed.extend(metric_data(f"CloudWatch GetMetricData for {res}", self.metric_data(cw, res, start, end), res))
            events = self.pages(rds, "describe_events", "Events", f"RDS DescribeEvents for {res}", SourceIdentifier=res,
                                SourceType="db-instance", StartTime=start, EndTime=end)
            parsed.extend(rds_events(f"RDS DescribeEvents for {res}", {"Events": events}, res))
            found = self.call(f"RDS DescribeDBInstances for {res}", rds.describe_db_instances, DBInstanceIdentifier=res)
            instance = (found.get("DBInstances") or [{}])[0]
            if instance.get("PerformanceInsightsEnabled") and instance.get("DbiResourceId"):
                parsed.extend(self.insights(pi, res, instance["DbiResourceId"], query))
            parsed.resources.add(res)
        return telemetry_of(parsed, self.label, self.name)

    def metric_data(self, cw: Any, res: str, start: datetime, end: datetime) -> dict[str, Any]:
        queries = [{"Id": f"m{i}", "Label": metric, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": "AWS/RDS", "MetricName": metric,
                       "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": res}]},
            "Period": self.period, "Stat": STATS.get(metric, "Average")}} for i, metric in enumerate(self.metrics)]
        merged: dict[str, dict[str, Any]] = {}
        token = None
        while True:
            kwargs = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"}
            if token:
                kwargs["NextToken"] = token
            page = self.call(f"CloudWatch GetMetricData for {res}", cw.get_metric_data, **kwargs)
            for result in page.get("MetricDataResults") or []:
                into = merged.setdefault(result.get("Id", ""), {**result, "Timestamps": [], "Values": []})
                into["Timestamps"] += list(result.get("Timestamps") or [])
                into["Values"] += list(result.get("Values") or [])
                into["StatusCode"] = result.get("StatusCode", into.get("StatusCode"))
            token = page.get("NextToken")
            if not token:
                return {"MetricDataResults": list(merged.values())}

    def pages(self, client: Any, op: str, key: str, what: str, **kwargs: Any) -> list[Any]:
        out: list[Any] = []
        marker = None
        while True:
            page = self.call(what, getattr(client, op), **kwargs, **({"Marker": marker} if marker else {}))
            out += page.get(key) or []
            marker = page.get("Marker")
            if not marker:
                return out

    def insights(self, pi: Any, res: str, dbi: str, query: SourceQuery) -> Parsed:
        out = Parsed()
        start, end = _utc(query.start), _utc(query.end)
        metrics = self.call(f"Performance Insights GetResourceMetrics for {res}", pi.get_resource_metrics,
                            ServiceType="RDS", Identifier=dbi, StartTime=start, EndTime=end,
                            PeriodInSeconds=self.period if self.period in (1, 60, 300, 3600, 86400) else 60,
                            MetricQueries=[{"Metric": "db.load.avg"},
                                           {"Metric": "db.load.avg", "GroupBy": {"Group": "db.wait_event", "Limit": TOP_KEYS}}])
        out.extend(pi_metrics(f"Performance Insights GetResourceMetrics for {res}", metrics, res))
        ws, we = query.window or (query.start, query.end)
        for group in PI_GROUPS:
            keys = self.call(f"Performance Insights DescribeDimensionKeys for {res}", pi.describe_dimension_keys,
                             ServiceType="RDS", Identifier=dbi, StartTime=_utc(ws), EndTime=_utc(we), Metric="db.load.avg",
                             GroupBy={"Group": group, "Limit": TOP_KEYS})
            out.extend(pi_keys(f"Performance Insights DescribeDimensionKeys ({group}) for {res}", keys, res))
        return out

    def check(self) -> SourceCheck:
        try:
            _, rds, _ = self.clients()
            found = [self.call(f"RDS DescribeDBInstances for {res}", rds.describe_db_instances, DBInstanceIdentifier=res)
                     for res in self.resources]
        except CopilotError as exc:
            return SourceCheck(self.name, self.label, False, str(exc))
        described = [(d.get("DBInstances") or [{}])[0] for d in found]
        pi_on = [i.get("DBInstanceIdentifier", "?") for i in described if i.get("PerformanceInsightsEnabled")]
        return SourceCheck(self.name, self.label, True,
                           f"reachable, {len(described)} DB instances ("
                           + ", ".join(f"{i.get('DBInstanceIdentifier', '?')} {i.get('DBInstanceStatus', '?')}" for i in described)
                           + f"); Performance Insights on: {', '.join(pi_on) or 'none'}")
