"""docker-compose.yml scales: `docker compose up --scale worker=M --scale web=N` works as
written, with every container on the one PostgreSQL and the one Redis.

Docker Compose is not installed where these tests run (a Docker client without the compose
plugin and no daemon), so the file is checked structurally: parsed as YAML (merge keys and
`${VAR:-default}` resolved as Compose does) and held to what scaling needs. The checker is
tested on broken copies too, so a passing check means something.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
SCALED = ("web", "worker")
FERRY_SERVICES = ("web", "worker", "scheduler", "migrate")
_DEFAULTED = re.compile(r"\$\{[A-Z0-9_]+:-([^}]*)\}")


def resolved(value: str) -> str:
    """The value with each `${VAR:-default}` as its default (the variable unset)."""
    return _DEFAULTED.sub(lambda match: match.group(1), str(value))


def host_ports(service: dict) -> list[str]:
    """The host side of each published port ("" when only the container port is given)."""
    published = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            published.append(str(entry.get("published", "")))
            continue
        parts = resolved(entry).split(":")
        published.append(parts[-2] if len(parts) > 1 else "")
    return published


def scaling_problems(compose: dict) -> list[str]:
    """What would stop `--scale web=N --scale worker=M`, or scatter the data stores."""
    services = compose.get("services") or {}
    problems = []
    for name in FERRY_SERVICES:
        if name not in services:
            problems.append(f"no {name} service")
    for name in SCALED:
        service = services.get(name, {})
        if "container_name" in service:
            problems.append(f"{name} has a container_name (one container only)")
        for port in host_ports(service):
            if port and "-" not in port:
                problems.append(f"{name} publishes the fixed host port {port}")
    for name in ("postgres", "redis"):
        if name not in services:
            problems.append(f"no {name} service")
    for name in FERRY_SERVICES:
        environment = services.get(name, {}).get("environment") or {}
        database = urlsplit(resolved(environment.get("DATABASE_URL", "")))
        redis = urlsplit(resolved(environment.get("REDIS_URL", "")))
        if database.hostname != "postgres":
            problems.append(f"{name}'s DATABASE_URL is not the postgres service")
        if redis.hostname != "redis":
            problems.append(f"{name}'s REDIS_URL is not the redis service")
    worker_env = services.get("worker", {}).get("environment") or {}
    if urlsplit(resolved(worker_env.get("FERRY_API_URL", ""))).hostname != "web":
        problems.append("worker's FERRY_API_URL is not the web service")
    return problems


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_compose_file_scales_web_and_workers_on_one_database_and_redis(compose):
    assert scaling_problems(compose) == []


def test_workers_and_scheduler_run_the_ferry_commands(compose):
    services = compose["services"]
    assert services["worker"]["command"] == ["ferry", "worker"]
    assert services["scheduler"]["command"] == ["ferry", "scheduler"]
    assert services["web"]["command"][:2] == ["ferry", "web"]
    assert "ports" not in services["worker"]
    assert "replicas" not in services["scheduler"].get("deploy", {})


def test_web_publishes_a_port_range_starting_at_5000(compose):
    assert host_ports(compose["services"]["web"]) == ["5000-5009"]


def test_every_ferry_service_waits_for_the_migration(compose):
    services = compose["services"]
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


@pytest.mark.parametrize(
    ("service", "change", "problem"),
    [
        ("worker", {"container_name": "ferry-worker"}, "worker has a container_name"),
        ("web", {"container_name": "ferry-web"}, "web has a container_name"),
        ("web", {"ports": ["5000:5000"]}, "web publishes the fixed host port 5000"),
        ("worker", {"ports": ["8000:8000"]}, "worker publishes the fixed host port 8000"),
        (
            "worker",
            {"ports": [{"target": 8000, "published": 8000}]},
            "worker publishes the fixed host port 8000",
        ),
    ],
)
def test_a_service_that_cannot_scale_is_named(compose, service, change, problem):
    broken = copy.deepcopy(compose)
    broken["services"][service].update(change)
    assert problem in "\n".join(scaling_problems(broken))


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        (
            "DATABASE_URL",
            "postgresql://ferry:ferry@localhost:5432/ferry",
            "worker's DATABASE_URL is not the postgres service",
        ),
        ("REDIS_URL", "redis://127.0.0.1:6379/0", "worker's REDIS_URL is not the redis service"),
        ("REDIS_URL", "", "worker's REDIS_URL is not the redis service"),
        (
            "FERRY_API_URL",
            "${FERRY_API_URL:-http://localhost:5000}",
            "worker's FERRY_API_URL is not the web service",
        ),
    ],
)
def test_a_worker_on_its_own_data_store_is_named(compose, variable, value, problem):
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["environment"] = {
        **broken["services"]["worker"]["environment"],
        variable: value,
    }
    assert problem in scaling_problems(broken)


def test_a_missing_service_is_named(compose):
    broken = copy.deepcopy(compose)
    del broken["services"]["redis"], broken["services"]["scheduler"]
    problems = scaling_problems(broken)
    assert "no redis service" in problems
    assert "no scheduler service" in problems


def test_only_a_port_range_or_an_unpublished_port_scales():
    assert host_ports({"ports": ["5000"]}) == [""]
    assert host_ports({"ports": ["127.0.0.1:5000-5009:5000"]}) == ["5000-5009"]
    assert host_ports({"ports": ["${WEB_PORT:-8080}:5000"]}) == ["8080"]
    assert scaling_problems({"services": {}})[:4] == [
        "no web service",
        "no worker service",
        "no scheduler service",
        "no migrate service",
    ]
