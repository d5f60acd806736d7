"""Deployment files, checked statically (no Docker engine or cluster here).

docker-compose.yml against the Compose specification schema, the Kubernetes
base against the Kubernetes JSON schemas (both vendored in
tests/fixtures/deploy_schemas, see its README), the Dockerfile and
.dockerignore by a structural lint, and what ties them together: the settings
they pass are valid for sahelwatch, selectors select the pods, ports and
mounts refer to things that exist.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from sahelwatch.config import DOCUMENTED, PREFIX, load_settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "fixtures" / "deploy_schemas"
K8S_SCHEMAS = SCHEMAS / "kubernetes-v1.35.0"
K8S_DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
K8S = ROOT / "deploy" / "k8s"

WEB_PORT = 6066
APP_UID = 10001
DATA_DIR = "/var/lib/sahelwatch"
# SASL_PASSWORD_FILE is read by config.py but documented under SASL_PASSWORD.
KNOWN_SETTINGS = {PREFIX + name for name in DOCUMENTED} | {PREFIX + "SASL_PASSWORD_FILE"}


def _no_network(uri: str) -> Any:
    raise AssertionError(f"schema validation tried to fetch {uri}: vendor it instead")


def _errors(validator: Any, instance: object) -> list[str]:
    found = []
    for error in validator.iter_errors(instance):
        path = "/".join(str(p) for p in error.instance_path) or "(root)"
        found.append(f"{path}: {error.message[:300]}")
    return found


def _sahelwatch_env(env: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in env.items() if k.startswith(PREFIX)}


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as a regex: `*` and `?` within one folder, `**` across folders (as .dockerignore and glob)."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out += "(?:.*/)?"
            else:
                out += ".*"
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
        i += 1
    return re.compile(f"^{out}$")


# ---------------------------------------------------------------- Compose ----


@cache
def _compose_validator() -> Any:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, retriever=_no_network)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = compose["services"]
    return result


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    assert _errors(_compose_validator(), compose) == []
    assert "version" not in compose, "the Compose specification has no top-level version"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda c: c["services"]["worker"].update(container_nam="sahelwatch"), "unknown service field"),
        (lambda c: c["services"]["worker"].update(ports=6066), "ports must be a list"),
        (lambda c: c["services"]["worker"].update(depends_on={"topics": {"condition": "done"}}), "bad condition"),
        (lambda c: c.update(servicez={}), "unknown top-level field"),
    ],
)
def test_compose_schema_rejects_invalid_files(
    compose: dict[str, Any], mutate: Callable[[dict[str, Any]], None], reason: str
) -> None:
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert _errors(_compose_validator(), broken), f"{reason} was accepted"


def test_compose_runs_the_whole_stack(services: dict[str, Any]) -> None:
    assert set(services) == {"kafka", "topics", "worker", "prometheus", "grafana"}


def test_worker_can_be_scaled(services: dict[str, Any]) -> None:
    worker = services["worker"]
    # a fixed name or a published host port makes `docker compose up --scale worker=N` fail
    assert "container_name" not in worker
    assert "ports" not in worker
    assert str(WEB_PORT) in [str(p) for p in worker.get("expose", [])]
    # each replica gets its own (anonymous) volume for its table stores
    assert DATA_DIR in worker.get("volumes", [])


def test_topics_and_worker_run_the_image_built_from_deploy_dockerfile(services: dict[str, Any]) -> None:
    for name in ("topics", "worker"):
        build = services[name]["build"]
        assert (ROOT / build["context"]).resolve() == ROOT
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert services["topics"]["image"] == services["worker"]["image"]
    assert services["topics"]["command"] == ["topics", "create"]
    assert services["worker"]["command"] == ["worker"]


def test_worker_starts_after_kafka_is_healthy_and_topics_exist(services: dict[str, Any]) -> None:
    topics, worker = services["topics"], services["worker"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["restart"] == "no"
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_kafka_is_a_single_kraft_node_the_services_can_reach(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    env = {k: str(v) for k, v in kafka["environment"].items()}
    assert kafka["image"] == "apache/kafka:3.9.1"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    assert listeners == {"PLAINTEXT": ":9092", "CONTROLLER": ":9093"}
    protocol_map = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocol_map)
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) == 16 * 1024 * 1024
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])
    # the broker's data lives in a named volume at its log dir
    named = [v.split(":") for v in kafka["volumes"]]
    assert [env["KAFKA_LOG_DIRS"]] == [target for _, target in named]
    for name in ("topics", "worker"):
        settings = load_settings(_sahelwatch_env(services[name]["environment"]))
        assert settings.bootstrap_servers == ["kafka:9092"]
        assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) >= settings.max_message_bytes


def test_compose_settings_are_known_and_valid(services: dict[str, Any]) -> None:
    for name in ("topics", "worker"):
        env = _sahelwatch_env(services[name]["environment"])
        assert set(env) <= KNOWN_SETTINGS, f"{name}: unknown settings {set(env) - KNOWN_SETTINGS}"
        load_settings(env)
    worker = load_settings(_sahelwatch_env(services["worker"]["environment"]))
    assert worker.web_host == "0.0.0.0"
    assert worker.web_port == WEB_PORT
    assert str(worker.data_dir) == DATA_DIR
    assert worker.create_topics is False, "the topics service creates them"


def _mounts(service: dict[str, Any]) -> list[tuple[str | None, str]]:
    mounts: list[tuple[str | None, str]] = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume.get("source"), volume["target"]))
            continue
        parts = volume.split(":")
        mounts.append((parts[0], parts[1]) if len(parts) > 1 else (None, parts[0]))
    return mounts


def test_every_mount_source_exists(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source, _target in _mounts(service):
            if source is None:
                continue
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount source {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_prometheus_and_grafana_mount_the_repositorys_configuration(services: dict[str, Any]) -> None:
    prometheus = {target: source for source, target in _mounts(services["prometheus"])}
    assert prometheus["/etc/prometheus"] == "./deploy/prometheus"
    config = next(a for a in services["prometheus"]["command"] if a.startswith("--config.file="))
    assert config == "--config.file=/etc/prometheus/prometheus.yml"
    assert (ROOT / "deploy" / "prometheus" / "prometheus.yml").is_file()
    grafana = {target: source for source, target in _mounts(services["grafana"])}
    assert grafana["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert grafana["/var/lib/grafana/dashboards"] == "./deploy/grafana/dashboards"
    assert (ROOT / "deploy" / "grafana" / "provisioning").is_dir()
    assert (ROOT / "deploy" / "grafana" / "dashboards").is_dir()


def test_prometheus_scrapes_the_worker_service(services: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    targets: set[str] = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(static.get("targets", []))
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{n}:{dns.get('port')}" for n in dns["names"])
        for file_sd in job.get("file_sd_configs", []):
            for pattern in file_sd["files"]:
                for path in (ROOT / "deploy" / "prometheus").glob(pattern):
                    for group in json.loads(path.read_text(encoding="utf-8")):
                        targets.update(group["targets"])
    assert {f"worker:{WEB_PORT}", f"tasks.worker:{WEB_PORT}"} & targets, targets


def test_only_loopback_ports_are_published(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


# ------------------------------------------------------------- Dockerfile ----


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        try:
            value = json.loads(self.args)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) else None


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Instructions by stage; continuation lines joined, comments dropped."""
    stages: list[Stage] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker
        if not pending:
            start = number
        pending.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, args = " ".join(pending).partition(" ")
        pending = []
        instruction = Instruction(keyword.upper(), args.strip(), start)
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            if instruction.keyword != "ARG":
                raise ValueError(f"line {start}: {instruction.keyword} before FROM")
        else:
            stages[-1].instructions.append(instruction)
    return stages


def copy_sources(stages: list[Stage]) -> list[str]:
    """Build-context paths read by COPY/ADD (not those copied from another stage)."""
    sources = []
    for stage in stages:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            words = shlex.split(instruction.args)
            if any(w.startswith("--from=") for w in words):
                continue
            paths = [w for w in words if not w.startswith("--")]
            sources += paths[:-1]
    return sources


def dockerfile_problems(text: str) -> list[str]:
    """What a reviewer would refuse in the image definition; empty when it is fine."""
    stages = parse_dockerfile(text)
    problems = []
    if len(stages) < 2:
        problems.append("not a multi-stage build")
    if not stages:
        return problems
    final = stages[-1]
    for stage in stages:
        for instruction in stage.all("ADD"):
            if re.search(r"(https?|ftp)://|git@", instruction.args):
                problems.append(f"line {instruction.line}: ADD of a remote URL")
    users = final.all("USER")
    user = users[-1].args.split(":")[0] if users else "root"
    if not user.isdigit() or int(user) == 0:
        problems.append(f"final stage runs as {user!r}, not a non-root numeric uid")
    if not final.all("HEALTHCHECK"):
        problems.append("no HEALTHCHECK in the final stage")
    entrypoints = final.all("ENTRYPOINT")
    if not entrypoints or entrypoints[-1].exec_form() != ["sahelwatch"]:
        problems.append('ENTRYPOINT is not ["sahelwatch"] in exec form')
    return problems


@pytest.fixture(scope="module")
def dockerfile_text() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def stages(dockerfile_text: str) -> list[Stage]:
    return parse_dockerfile(dockerfile_text)


def test_dockerfile_passes_the_structural_lint(dockerfile_text: str) -> None:
    assert dockerfile_problems(dockerfile_text) == []


def test_lint_finds_what_it_looks_for() -> None:
    bad = "\n".join(
        [
            "FROM python:3.11-slim",
            "ADD https://example.com/tool.tar.gz /opt/",
            "USER root",
            "ENTRYPOINT sahelwatch worker",
        ]
    )
    assert dockerfile_problems(bad) == [
        "not a multi-stage build",
        "line 2: ADD of a remote URL",
        "final stage runs as 'root', not a non-root numeric uid",
        "no HEALTHCHECK in the final stage",
        'ENTRYPOINT is not ["sahelwatch"] in exec form',
    ]


def test_builder_installs_into_a_venv_that_the_runtime_copies(stages: list[Stage]) -> None:
    builder, runtime = stages[0], stages[-1]
    assert [s.image for s in stages] == ["python:3.11-slim", "python:3.11-slim"]
    assert builder.name == "builder"
    installs = [i.args for i in builder.all("RUN") if "pip install" in i.args and " ." in i.args]
    assert len(installs) == 1
    assert "--no-cache-dir" in installs[0]
    assert "-c deploy/constraints.txt" in installs[0]
    copies = [shlex.split(i.args) for i in runtime.all("COPY")]
    assert ["--from=builder", "/opt/venv", "/opt/venv"] in copies
    # the repository's schemas folder is a symlink: the builder swaps in the real files
    link = ROOT / "services" / "sahelwatch" / "schemas"
    assert link.resolve() == (ROOT / "schemas").resolve()
    assert any("rm services/sahelwatch/schemas" in i.args and "cp -r schemas" in i.args for i in builder.all("RUN"))


def test_runtime_stage_runs_the_worker_as_uid_10001(stages: list[Stage]) -> None:
    runtime = stages[-1]
    assert runtime.all("USER")[-1].args == str(APP_UID)
    assert runtime.all("WORKDIR")[-1].args == "/app"
    assert runtime.all("CMD")[-1].exec_form() == ["worker"]
    assert str(WEB_PORT) in runtime.all("EXPOSE")[-1].args.split()
    setup = " ".join(i.args for i in runtime.all("RUN"))
    assert f"--uid {APP_UID}" in setup
    assert f"chown {APP_UID}:{APP_UID} {DATA_DIR}" in setup
    healthcheck = runtime.all("HEALTHCHECK")[-1].args
    assert "urllib" in healthcheck
    assert "http://127.0.0.1:" in healthcheck
    assert "/health" in healthcheck


def test_runtime_environment_is_valid_for_sahelwatch(stages: list[Stage]) -> None:
    env: dict[str, str] = {}
    for instruction in stages[-1].all("ENV"):
        for word in shlex.split(instruction.args):
            key, _, value = word.partition("=")
            env[key] = value
    settings_env = _sahelwatch_env(env)
    assert set(settings_env) <= KNOWN_SETTINGS
    settings = load_settings(settings_env)
    assert settings.web_host == "0.0.0.0"
    assert str(settings.data_dir) == DATA_DIR


def test_entrypoint_is_the_packages_console_script(stages: list[Stage]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entrypoint = stages[-1].all("ENTRYPOINT")[-1].exec_form()
    assert entrypoint is not None
    assert entrypoint[0] in pyproject["project"]["scripts"]


def test_package_data_ships_the_schema_and_knowledge_files() -> None:
    """The image installs with `pip install .`: the package must declare its data files."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["sahelwatch"]
    package = ROOT / "services" / "sahelwatch"
    schemas = ROOT / "schemas"
    needed = [f"schemas/{p.relative_to(schemas).as_posix()}" for p in schemas.rglob("*.json")]
    needed += [f"knowledge/{p.name}" for p in (package / "knowledge").iterdir() if p.suffix in (".jsonl", ".toml")]
    assert len(needed) > 5
    # setuptools globs relative to the package folder; `*` stays within one folder
    missing = [p for p in needed if not any(_glob_regex(pattern).match(p) for pattern in patterns)]
    assert missing == []


# ---------------------------------------------------------- .dockerignore ----


def dockerignored(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves `path` out of the build context: the last matching pattern wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw.removeprefix("!").strip().strip("/")
        regex = _glob_regex(pattern)
        if any(regex.match(c) for c in candidates):
            excluded = not negated
    return excluded


def _dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_dockerignore_matching_follows_docker() -> None:
    patterns = ["*", "!services/", "!deploy/constraints.txt", "**/__pycache__"]
    assert dockerignored(patterns, ".venv/bin/python")
    assert dockerignored(patterns, "deploy/Dockerfile")
    assert not dockerignored(patterns, "deploy/constraints.txt")
    assert not dockerignored(patterns, "services/sahelwatch/config.py")
    assert dockerignored(patterns, "services/sahelwatch/__pycache__/config.cpython-311.pyc")


def test_every_copy_source_exists_and_reaches_the_build_context(stages: list[Stage]) -> None:
    patterns = _dockerignore_patterns()
    sources = copy_sources(stages)
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
        assert not dockerignored(patterns, source.rstrip("/")), f"COPY {source}: excluded by .dockerignore"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["readme"] in sources, "setuptools needs the readme to build"


def test_local_state_stays_out_of_the_build_context() -> None:
    patterns = _dockerignore_patterns()
    for path in (".git/config", ".venv/bin/python", ".local/kafka/meta.properties", "tests/unit/test_config.py"):
        assert dockerignored(patterns, path), path
    assert dockerignored(patterns, "services/sahelwatch/__pycache__/config.cpython-311.pyc")
    assert dockerignored(patterns, "services/sahelwatch.egg-info/PKG-INFO")


# -------------------------------------------------------------- Kubernetes ----

K8S_SCHEMA_FILES = {
    ("apps/v1", "Deployment"): "deployment-apps-v1.json",
    ("v1", "Service"): "service-v1.json",
    ("v1", "ConfigMap"): "configmap-v1.json",
    ("v1", "Secret"): "secret-v1.json",
}


@cache
def _k8s_validator(api_version: str, kind: str) -> Any:
    definitions = json.loads((K8S_SCHEMAS / "_definitions.json").read_text(encoding="utf-8"))
    registry = jsonschema_rs.Registry([(K8S_DEFINITIONS_URI, definitions)], retriever=_no_network)
    schema = json.loads((K8S_SCHEMAS / K8S_SCHEMA_FILES[(api_version, kind)]).read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(schema, registry=registry, retriever=_no_network)


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def manifests(kustomization: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The base's resources by kind."""
    by_kind: dict[str, dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / resource).read_text(encoding="utf-8")):
            assert document["kind"] not in by_kind, f"two {document['kind']} resources"
            by_kind[document["kind"]] = document
    return by_kind


def test_kustomization_lists_every_manifest(kustomization: dict[str, Any]) -> None:
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["commonLabels"] == {"app.kubernetes.io/name": "sahelwatch"}
    resources = kustomization["resources"]
    for resource in resources:
        assert (K8S / resource).is_file(), f"{resource} is listed but missing"
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(resources) == on_disk


@pytest.mark.parametrize(("api_version", "kind"), sorted(K8S_SCHEMA_FILES))
def test_manifest_follows_the_kubernetes_schema(
    manifests: dict[str, dict[str, Any]], api_version: str, kind: str
) -> None:
    manifest = manifests[kind]
    assert manifest["apiVersion"] == api_version
    assert _errors(_k8s_validator(api_version, kind), manifest) == []


def test_kubernetes_schemas_reject_invalid_manifests(manifests: dict[str, dict[str, Any]]) -> None:
    deployment = copy.deepcopy(manifests["Deployment"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFileSystem"] = True  # misspelt: strict schemas refuse it
    assert _errors(_k8s_validator("apps/v1", "Deployment"), deployment)
    service = copy.deepcopy(manifests["Service"])
    service["spec"]["ports"][0]["port"] = "six thousand"
    assert _errors(_k8s_validator("v1", "Service"), service)
    secret = copy.deepcopy(manifests["Secret"])
    secret["stringData"]["SAHELWATCH_SASL_PASSWORD"] = 42
    assert _errors(_k8s_validator("v1", "Secret"), secret)


def _pod(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    template: dict[str, Any] = manifests["Deployment"]["spec"]["template"]
    return template


def _container(manifests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    containers = _pod(manifests)["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_deployment_runs_two_locked_down_workers(manifests: dict[str, dict[str, Any]]) -> None:
    deployment = manifests["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    pod_security = _pod(manifests)["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == APP_UID
    container = _container(manifests)
    assert container["args"] == ["worker"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security.get("runAsUser", APP_UID) == APP_UID
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])


def test_writable_paths_are_empty_dirs(manifests: dict[str, dict[str, Any]]) -> None:
    volumes = {v["name"]: v for v in _pod(manifests)["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container(manifests)["volumeMounts"]}
    assert set(mounts) == {DATA_DIR, "/tmp"}
    for name in mounts.values():
        assert "emptyDir" in volumes[name]


def test_probes_and_scraping_use_the_metrics_port(manifests: dict[str, dict[str, Any]]) -> None:
    container = _container(manifests)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": WEB_PORT}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "metrics"}
    annotations = _pod(manifests)["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(WEB_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"
    service = manifests["Service"]
    assert service["spec"]["type"] == "ClusterIP"
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("metrics", WEB_PORT, "metrics")
    ]


def test_selectors_select_the_worker_pods(manifests: dict[str, dict[str, Any]]) -> None:
    labels = _pod(manifests)["metadata"]["labels"]
    selectors = {
        "Deployment": manifests["Deployment"]["spec"]["selector"]["matchLabels"],
        "Service": manifests["Service"]["spec"]["selector"],
        "PodMonitor": manifests["PodMonitor"]["spec"]["selector"]["matchLabels"],
    }
    for kind, selector in selectors.items():
        assert selector, f"{kind} selects everything"
        assert selector.items() <= labels.items(), f"{kind} selector {selector} misses the pods {labels}"


def test_podmonitor_structure(manifests: dict[str, dict[str, Any]]) -> None:
    """No CRD schema is vendored for PodMonitor: its shape is checked here."""
    monitor = manifests["PodMonitor"]
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["kind"] == "PodMonitor"
    assert isinstance(monitor["metadata"]["name"], str)
    assert set(monitor["spec"]) <= {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel"}
    endpoints = monitor["spec"]["podMetricsEndpoints"]
    assert isinstance(endpoints, list)
    assert endpoints
    container_ports = {p["name"] for p in _container(manifests)["ports"]}
    for endpoint in endpoints:
        assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "scheme"}
        assert endpoint["port"] in container_ports
        assert endpoint["path"] == "/metrics"


def test_environment_comes_from_the_configmap_and_secret(manifests: dict[str, dict[str, Any]]) -> None:
    sources = _container(manifests)["envFrom"]
    assert {"configMapRef": {"name": manifests["ConfigMap"]["metadata"]["name"]}} in sources
    assert {"secretRef": {"name": manifests["Secret"]["metadata"]["name"]}} in sources
    config = {k: str(v) for k, v in manifests["ConfigMap"]["data"].items()}
    secret = manifests["Secret"]
    assert secret["type"] == "Opaque"
    assert set(secret["stringData"]) == {"SAHELWATCH_SASL_USERNAME", "SAHELWATCH_SASL_PASSWORD"}
    assert not set(secret["stringData"]) & set(config), "credentials belong in the Secret"
    env = config | secret["stringData"]
    assert set(env) <= KNOWN_SETTINGS, set(env) - KNOWN_SETTINGS
    settings = load_settings(env)
    assert settings.web_host == "0.0.0.0"
    assert settings.web_port == WEB_PORT
    assert str(settings.data_dir) == DATA_DIR
    assert settings.security.uses_sasl


def test_committed_secret_holds_placeholders_only(manifests: dict[str, dict[str, Any]]) -> None:
    secret = manifests["Secret"]
    assert "data" not in secret
    assert set(secret["stringData"].values()) == {"CHANGE-ME"}
