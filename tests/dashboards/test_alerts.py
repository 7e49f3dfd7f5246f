"""Grafana alert rules for WFM, validated without Grafana.

Grafana cannot run here, so the provisioning file is checked statically: it is what the code
generates, it has the shape Grafana's file provisioning reads (apiVersion 1, groups of rules,
each with a query on the provisioned Prometheus data source and a threshold condition), and
every PromQL expression uses only metrics and labels ``runtime.metrics`` exposes (the same
check the dashboards get).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dashboards.alerts import FILE_NAME, alert_rules, export_rules
from tests.dashboards.test_definitions import (
    test_every_query_uses_only_exposed_metrics_and_labels as check_query,
)

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docker/grafana/provisioning/alerting" / FILE_NAME
DATASOURCES = ROOT / "docker/grafana/provisioning/datasources/prometheus.yaml"


def test_the_committed_rules_are_the_generated_ones(tmp_path: Path) -> None:
    fresh = export_rules(tmp_path).read_text(encoding="utf-8")
    assert COMMITTED.read_text(encoding="utf-8") == fresh, (
        "regenerate: python -m dashboards.alerts --export docker/grafana/provisioning/alerting"
    )


def test_the_rules_have_grafanas_provisioning_shape() -> None:
    document = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    assert document == alert_rules()
    assert document["apiVersion"] == 1
    datasource = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"][0]["uid"]
    uids = set()
    for group in document["groups"]:
        assert {"orgId", "name", "folder", "interval", "rules"} <= set(group)
        for rule in group["rules"]:
            assert rule["uid"] not in uids and len(rule["uid"]) <= 40
            uids.add(rule["uid"])
            refs = {d["refId"]: d for d in rule["data"]}
            assert rule["condition"] in refs
            query, condition = refs["A"], refs[rule["condition"]]
            assert query["datasourceUid"] == datasource
            assert condition["datasourceUid"] == "__expr__"
            assert condition["model"]["expression"] == "A"
            assert condition["model"]["type"] == "threshold"
            assert rule["noDataState"] in {"OK", "NoData", "Alerting"}
            assert rule["execErrState"] in {"OK", "Error", "Alerting"}
            assert rule["annotations"]["summary"]
    assert uids == {
        "warmline-containment-drop",
        "warmline-ai-capacity-open",
        "warmline-ai-capacity-degraded",
    }


def test_every_rule_queries_exposed_metrics_only() -> None:
    for group in alert_rules()["groups"]:
        for rule in group["rules"]:
            check_query(rule["uid"], rule["data"][0]["model"]["expr"], "")
