"""deploy/k8s, rendered for each overlay and checked without a cluster.

Rendering: `kubectl kustomize` when kubectl is installed, else the small renderer below (it
implements exactly the kustomize features the overlays use, and refuses any other); when both
are available the two renderings must be equal. Every rendered object is validated against the
Kubernetes JSON schemas of `kubernetes-validate` (strict: unknown fields fail); KEDA
ScaledObjects (a CRD, not in those schemas) are checked field by field. Then what the code says
(tests/unit/deploy_support.py) is checked against the manifests: one Deployment per process,
probes on each process that serves /healthz and /readyz, the environment of every container
against the settings its code reads, secrets only from the Secret, STREAM_REPLICAS (3) from the
ConfigMap for every process that declares the streams, and one KEDA trigger per durable
consumer the code declares. The `*_is_caught` tests break a rendering on purpose and
expect the check to say so.
"""

import base64
import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.unit import deploy_support as code

K8S = code.REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"
OVERLAYS = ("sandbox", "production")
CONFIGMAP, SECRET = "revsync-config", "revsync-secrets"
# literal env values are for ports only: they belong next to their containerPort
PORT_VARIABLES = {"SERVICE_PORT", "REVIO_CONNECTOR_PORT", "METRICS_PORT", "CONSOLE_PORT"}
NATS_RELEASE, NATS_NAMESPACE = "nats", "nats"
# JetStream replicas of every stream on the 3-node NATS cluster of nats-values.yaml
STREAM_REPLICAS = "3"
KEDA_ENDPOINT = f"{NATS_RELEASE}-headless.{NATS_NAMESPACE}.svc.cluster.local:8222"
STREAMS = {"CHANGES", "COMMANDS", "RESULTS"}
# operators' UI: not worth autoscaling on its bookkeeping consumers
NOT_AUTOSCALED = {"services.console"}
FAKE_SECRETS = {
    "DATABASE_URL": "postgresql://revsync:test-password@db.example:5432/revsync",
    "REVSYNC_SECRET_KEY": "test-key",
    "REVSYNC_ADMIN_PASSWORD": "test-admin-password",
}
Docs = list[dict[str, Any]]


# --- rendering -------------------------------------------------------------------------------


def load_yaml(path: Path) -> Docs:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        elif isinstance(value, list):
            raise NotImplementedError("list patches need kustomize's merge keys")
        else:
            target[key] = value


def pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    if doc["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return [spec["template"]["spec"]]
    return []


def containers_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c
        for pod in pod_specs(doc)
        for c in [*pod.get("initContainers", []), *pod.get("containers", [])]
    ]


def set_image(image: str, rule: dict[str, Any]) -> str:
    name = re.split(r"[:@]", image, maxsplit=1)[0]
    if name != rule["name"]:
        return image
    if "digest" in rule:
        return f"{rule.get('newName', name)}@{rule['digest']}"
    tag = rule.get("newTag", image[len(name) + 1 :] if ":" in image else "")
    return f"{rule.get('newName', name)}{':' + str(tag) if tag else ''}"


def render_python(directory: Path) -> Docs:
    """kustomize for what these overlays use: resources, patches (strategic merge of maps),
    namespace, images, replicas, secretGenerator. Anything else fails loudly."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "resources", "patches", "namespace", "images", "replicas"}
    unsupported = set(kustomization) - known - {"secretGenerator"}
    assert not unsupported, f"{directory}: the test renderer does not support {unsupported}"
    docs: Docs = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        docs += render_python(path) if path.is_dir() else load_yaml(path)
    for generator in kustomization.get("secretGenerator", []):
        assert set(generator) <= {"name", "envs", "literals", "options", "type"}, generator
        assert generator.get("options") == {"disableNameSuffixHash": True}, generator
        data: dict[str, str] = {}
        lines = [line for env in generator.get("envs", []) for line in (directory / env).open()]
        for line in [*lines, *generator.get("literals", [])]:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                data[key] = base64.b64encode(value.encode()).decode()
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": generator["name"]},
                "type": generator.get("type", "Opaque"),
                "data": data,
            }
        )
    for entry in kustomization.get("patches", []):
        assert set(entry) == {"path"}, f"only strategic-merge patch files: {entry}"
        for patch in load_yaml(directory / entry["path"]):
            targets = [
                d
                for d in docs
                if d["kind"] == patch["kind"] and d["metadata"]["name"] == patch["metadata"]["name"]
            ]
            assert len(targets) == 1, f"patch {entry['path']} matches {len(targets)} objects"
            deep_merge(targets[0], {k: v for k, v in patch.items() if k != "metadata"})
    for doc in docs:
        if "namespace" in kustomization:
            doc["metadata"]["namespace"] = kustomization["namespace"]
        for rule in kustomization.get("images", []):
            for container in containers_of(doc):
                container["image"] = set_image(container["image"], rule)
    for rule in kustomization.get("replicas", []):
        for doc in docs:
            if doc["kind"] == "Deployment" and doc["metadata"]["name"] == rule["name"]:
                doc["spec"]["replicas"] = rule["count"]
    return docs


def render_kubectl(directory: Path) -> Docs | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def keyed(docs: Docs) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def normalized(docs: Docs) -> dict[tuple[str, str], dict[str, Any]]:
    """Objects by kind and name, Secret values decoded (kustomize wraps long base64 lines)."""
    objects = keyed(copy.deepcopy(docs))
    for (kind, _), doc in objects.items():
        if kind == "Secret":
            doc["data"] = {k: base64.b64decode(v) for k, v in doc.get("data", {}).items()}
    return objects


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/k8s with test secrets in place of the git-ignored secrets.env files."""
    target = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, target, ignore=shutil.ignore_patterns("secrets.env"))
    for overlay in OVERLAYS:
        example = (target / "overlays" / overlay / "secrets.env.example").read_text()
        keys = re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)
        lines = [f"{key}={FAKE_SECRETS[key]}" for key in keys]
        (target / "overlays" / overlay / "secrets.env").write_text("\n".join(lines) + "\n")
    return target


@pytest.fixture(scope="module")
def renderings(tree: Path) -> dict[str, tuple[Docs, Docs | None]]:
    return {
        o: (render_python(tree / "overlays" / o), render_kubectl(tree / "overlays" / o))
        for o in OVERLAYS
    }


@pytest.fixture(scope="module")
def rendered(renderings: dict[str, tuple[Docs, Docs | None]]) -> dict[str, Docs]:
    """The real kustomize output when kubectl is there, else the test renderer's."""
    return {
        o: kubectl if kubectl is not None else python for o, (python, kubectl) in renderings.items()
    }


# --- checks (each returns what is wrong; the tests assert it is nothing) -----------------------


def schema_problems(docs: Docs) -> list[str]:
    problems = []
    for doc in docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: keda_problems
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {where}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(error.message)
    return problems


def image_name(image: str) -> str:
    """`registry:5000/team/revsync:1.2@sha256:...` -> `revsync`."""
    return image.partition("@")[0].rsplit("/", 1)[-1].split(":")[0]


def image_pinned(image: str) -> bool:
    """A digest, or a tag other than latest."""
    name, _, digest = image.partition("@")
    if digest:
        return re.fullmatch(r"sha256:[0-9a-f]{64}", digest) is not None
    last = name.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":latest")


def container_port(container: dict[str, Any], name: str) -> int | None:
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    return ports.get(name)


def env_problems(docs: Docs) -> list[str]:
    """Every container's environment against what its code reads; secrets only from the Secret;
    the ConfigMap and the Secret hold exactly what is referenced and read."""
    objects = keyed(docs)
    config = objects.get(("ConfigMap", CONFIGMAP), {}).get("data", {})
    secret = objects.get(("Secret", SECRET), {}).get("data", {})
    problems: list[str] = []
    referenced: dict[str, set[str]] = {CONFIGMAP: set(), SECRET: set()}
    for doc in docs:
        for container in containers_of(doc):
            if image_name(container["image"]) != "revsync":
                continue  # jaeger
            where = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
            if container.get("envFrom"):
                problems.append(f"{where}: envFrom hands over variables the code may not read")
            command = code.command_of(container.get("command", []) + container.get("args", []))
            names = [e["name"] for e in container.get("env", [])]
            if len(names) != len(set(names)):
                problems.append(f"{where}: a variable is set twice")
            for name in sorted(set(names) - command.reads):
                problems.append(f"{where}: {name} is read by no code this container runs")
            for name in sorted(command.required - set(names)):
                problems.append(f"{where}: {name} is needed and not given")
            for entry in container.get("env", []):
                name, source = entry["name"], entry.get("valueFrom", {})
                if "value" in entry:
                    if name not in PORT_VARIABLES:
                        problems.append(f"{where}: {name} is a literal (use the ConfigMap)")
                    elif container_port(container, "health") != int(entry["value"]) and (
                        container_port(container, "http") != int(entry["value"])
                    ):
                        problems.append(f"{where}: {name}={entry['value']} is no containerPort")
                    continue
                kind = "secretKeyRef" if name in code.SECRET_NAMES else "configMapKeyRef"
                ref = source.get(kind)
                if ref is None:
                    problems.append(f"{where}: {name} must come from {kind}")
                    continue
                store, data = (SECRET, secret) if kind == "secretKeyRef" else (CONFIGMAP, config)
                if ref.get("name") != store or ref.get("key") != name:
                    problems.append(f"{where}: {name} must be key {name} of {store}")
                referenced[store].add(name)
                if name not in data and not ref.get("optional"):
                    problems.append(f"{where}: {name} is missing from {store}")
    readable = code.all_env_reads()
    for key in sorted(config):
        if key in code.SECRET_NAMES:
            problems.append(f"ConfigMap {CONFIGMAP}: {key} is a secret")
        if key not in readable:
            problems.append(f"ConfigMap {CONFIGMAP}: {key} is read by no code")
        if key not in referenced[CONFIGMAP]:
            problems.append(f"ConfigMap {CONFIGMAP}: {key} is given to no container")
    if set(secret) != code.SECRET_NAMES:
        problems.append(f"Secret {SECRET} holds {sorted(secret)}, not {sorted(code.SECRET_NAMES)}")
    return problems


def deployment_problems(docs: Docs, overlay: str) -> list[str]:
    """A Deployment per process, its probes, resources and an unprivileged user."""
    objects = keyed(docs)
    expected = [*code.DEPLOYED, *(["services.sandbox"] if overlay == "sandbox" else [])]
    problems = []
    for module in expected:
        deployment = objects.get(("Deployment", code.NAMES[module]))
        if deployment is None:
            problems.append(f"no Deployment {code.NAMES[module]} for {module}")
            continue
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        argv = container.get("command", []) + container.get("args", [])
        if argv[:3] != ["python", "-m", module]:
            problems.append(f"Deployment {code.NAMES[module]} runs {argv}, not {module}")
        process = code.PROCESSES[module]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        health = [env[n] for n in process.health_port_names() if env.get(n)]
        where = f"Deployment {code.NAMES[module]}"
        if process.health_port_names():
            if not health:
                problems.append(f"{where}: no {'/'.join(process.health_port_names())}")
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = container.get(probe, {}).get("httpGet", {})
                port = get.get("port")
                port = container_port(container, port) if isinstance(port, str) else port
                if get.get("path") != path or str(port) not in health:
                    problems.append(f"{where}: {probe} is not GET {path} on port {health}")
        elif module == "services.sandbox":
            for probe in ("livenessProbe", "readinessProbe"):
                if "httpGet" not in container.get(probe, {}):
                    problems.append(f"{where}: no {probe}")
    for doc in docs:
        for pod in pod_specs(doc):
            if pod.get("securityContext", {}).get("runAsNonRoot") is not True:
                problems.append(f"{doc['kind']}/{doc['metadata']['name']}: not runAsNonRoot")
        for container in containers_of(doc):
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    problems.append(
                        f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}: "
                        f"resources.{part} needs cpu and memory"
                    )
            if container.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
                problems.append(f"{doc['metadata']['name']}/{container['name']}: may escalate")
    return problems


def keda_problems(docs: Docs) -> list[str]:
    """One ScaledObject per consuming service, one nats-jetstream trigger per durable consumer
    the code declares (stream and name), and Deployments left to KEDA's HPA."""
    objects = keyed(docs)
    problems = []
    scaled = {}
    for doc in docs:
        if doc["kind"] != "ScaledObject":
            continue
        name = doc["metadata"]["name"]
        if doc["apiVersion"] != "keda.sh/v1alpha1":
            problems.append(f"ScaledObject {name}: apiVersion {doc['apiVersion']}")
        spec = doc.get("spec", {})
        target = spec.get("scaleTargetRef", {})
        if (
            target.get("kind", "Deployment") != "Deployment"
            or target.get("apiVersion", "apps/v1") != "apps/v1"
        ):
            problems.append(f"ScaledObject {name}: scaleTargetRef is not a Deployment")
        deployment = objects.get(("Deployment", target.get("name")))
        if deployment is None:
            problems.append(f"ScaledObject {name}: no Deployment {target.get('name')}")
            continue
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        module = code.command_of(container.get("args", [])).argv[2]
        scaled[module] = deployment["metadata"]["name"]
        if "replicas" in deployment["spec"]:
            problems.append(f"Deployment {target['name']}: replicas fights KEDA's HPA")
        low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
        if not 1 <= low <= high:
            problems.append(f"ScaledObject {name}: replicas {low}..{high} (pollers need >= 1)")
        found = set()
        for trigger in spec.get("triggers", []):
            meta = trigger.get("metadata", {})
            if trigger.get("type") != "nats-jetstream":
                problems.append(f"ScaledObject {name}: trigger {trigger.get('type')}")
            if meta.get("natsServerMonitoringEndpoint") != KEDA_ENDPOINT:
                problems.append(f"ScaledObject {name}: endpoint is not {KEDA_ENDPOINT}")
            if meta.get("account") != "$G":
                problems.append(f"ScaledObject {name}: account {meta.get('account')}")
            if meta.get("stream") not in STREAMS:
                problems.append(f"ScaledObject {name}: stream {meta.get('stream')}")
            if not str(meta.get("lagThreshold", "")).isdigit() or int(meta["lagThreshold"]) < 1:
                problems.append(f"ScaledObject {name}: lagThreshold {meta.get('lagThreshold')}")
            found.add((meta.get("stream"), meta.get("consumer")))
        declared = {(c.stream, c.durable) for c in code.consumers().get(module, [])}
        for stream, consumer in sorted(declared - found):
            problems.append(f"ScaledObject {name}: no trigger on {stream}/{consumer}")
        for stream, consumer in sorted(found - declared, key=str):
            problems.append(f"ScaledObject {name}: {stream}/{consumer} is no consumer of {module}")
    for module in sorted(set(code.consumers()) - NOT_AUTOSCALED - set(scaled)):
        problems.append(f"no ScaledObject for {module}")
    return problems


def service_problems(docs: Docs, overlay: str) -> list[str]:
    """Services that select a Deployment and reach a named container port."""
    objects = keyed(docs)
    problems = []
    wanted = {"console": "http", "revio-connector": "health", "jaeger": None}
    if overlay == "sandbox":
        wanted["sandbox"] = None
    for name in wanted:
        if ("Service", name) not in objects:
            problems.append(f"no Service {name}")
    for doc in docs:
        if doc["kind"] != "Service":
            continue
        selector = doc["spec"]["selector"]
        pods = [
            d
            for d in docs
            if d["kind"] == "Deployment"
            and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        if len(pods) != 1:
            problems.append(f"Service {doc['metadata']['name']} selects {len(pods)} Deployments")
            continue
        [container] = pods[0]["spec"]["template"]["spec"]["containers"]
        for port in doc["spec"]["ports"]:
            if container_port(container, port["targetPort"]) is None:
                problems.append(f"Service {doc['metadata']['name']}: no port {port['targetPort']}")
        want = wanted.get(doc["metadata"]["name"])
        if want and want not in [p["targetPort"] for p in doc["spec"]["ports"]]:
            problems.append(f"Service {doc['metadata']['name']} does not reach port {want}")
    return problems


def nats_servers() -> int:
    values = yaml.safe_load((K8S / "nats-values.yaml").read_text())
    return int(values["config"]["cluster"]["replicas"])


def stream_replica_problems(docs: Docs) -> list[str]:
    """Every container of a process that declares the streams at start-up (the code says which:
    code.stream_declarers) takes STREAM_REPLICAS from the ConfigMap, never optional, and the
    ConfigMap says 3, no more than the NATS cluster has servers. Without it a service declares
    (and, on update, brings back) its streams with one replica."""
    objects = keyed(docs)
    config = objects.get(("ConfigMap", CONFIGMAP), {}).get("data", {})
    problems = []
    value = config.get("STREAM_REPLICAS")
    if value != STREAM_REPLICAS:
        problems.append(
            f"ConfigMap {CONFIGMAP}: STREAM_REPLICAS is {value!r}, not {STREAM_REPLICAS!r}"
        )
    elif int(value) > nats_servers():
        problems.append(
            f"ConfigMap {CONFIGMAP}: STREAM_REPLICAS {value} > {nats_servers()} NATS servers"
        )
    running = set()
    for doc in docs:
        for container in containers_of(doc):
            if image_name(container["image"]) != "revsync":
                continue
            command = code.command_of(container.get("command", []) + container.get("args", []))
            if command.process is None or command.process.module not in code.stream_declarers():
                continue
            running.add(command.process.module)
            where = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
            entries = [e for e in container.get("env", []) if e["name"] == "STREAM_REPLICAS"]
            ref = entries[0].get("valueFrom", {}).get("configMapKeyRef", {}) if entries else {}
            if not entries:
                problems.append(f"{where}: no STREAM_REPLICAS (its streams get 1 replica)")
            elif ref.get("name") != CONFIGMAP or ref.get("key") != "STREAM_REPLICAS":
                problems.append(
                    f"{where}: STREAM_REPLICAS must be key STREAM_REPLICAS of {CONFIGMAP}"
                )
            elif ref.get("optional"):
                problems.append(f"{where}: STREAM_REPLICAS must not be optional")
    for module in sorted(code.stream_declarers() & set(code.DEPLOYED) - running):
        problems.append(f"{module} declares the streams and runs in no container")
    return problems


# --- tests -------------------------------------------------------------------------------------


def test_test_renderer_agrees_with_kubectl_kustomize(renderings):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed: the manifests are rendered by the test renderer")
    for overlay, (python, kubectl) in renderings.items():
        assert kubectl is not None
        assert normalized(python) == normalized(kubectl), overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_for_kubernetes(rendered, overlay):
    assert schema_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_deployment_per_process_with_probes_and_resources(rendered, overlay):
    assert deployment_problems(rendered[overlay], overlay) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_gets_what_its_code_reads_and_nothing_else(rendered, overlay):
    assert env_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_replicates_its_streams_three_times(rendered, overlay):
    assert stream_replica_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_scales_every_service_on_each_of_its_consumers(rendered, overlay):
    assert keda_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_reach_the_console_webhooks_and_jaeger(rendered, overlay):
    assert service_problems(rendered[overlay], overlay) == []
    objects = keyed(rendered[overlay])
    jaeger_ports = {p["port"] for p in objects[("Service", "jaeger")]["spec"]["ports"]}
    assert {4317, 4318, 16686} <= jaeger_ports
    config = objects[("ConfigMap", CONFIGMAP)]["data"]
    assert config["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert config["NATS_URL"] == f"nats://{NATS_RELEASE}.{NATS_NAMESPACE}.svc.cluster.local:4222"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_jobs_migrate_and_replay(rendered, overlay):
    objects = keyed(rendered[overlay])
    migrate = objects[("Job", "migrate")]
    [container] = containers_of(migrate)
    assert container["args"] == ["python", "-m", "revsync.migrate"]
    assert migrate["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
    replay = objects[("CronJob", "replay")]
    assert replay["spec"]["suspend"] is True  # only ever run on demand
    [container] = containers_of(replay)
    assert container["args"] == ["revsync", "replay"]


def test_sandbox_overlay_adds_the_sandbox_and_points_the_demo_at_it(rendered):
    objects = keyed(rendered["sandbox"])
    service = objects[("Service", "sandbox")]
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    [container] = objects[("Deployment", "sandbox")]["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--revio-port") + 1] == str(ports["revio"])
    assert args[args.index("--rmm-port") + 1] == str(ports["rmm"])
    assert args[args.index("--host") + 1] == "0.0.0.0"
    job = objects[("Job", "demo-tenant")]
    [init] = job["spec"]["template"]["spec"]["initContainers"]
    assert init["args"] == ["python", "-m", "revsync.migrate"]  # tenants table first
    [demo] = job["spec"]["template"]["spec"]["containers"]
    script = demo["args"][2]
    assert "create_demo_tenant" in script
    assert f'revio_url="http://sandbox:{ports["revio"]}/v1"' in script
    assert f'rmm_url="http://sandbox:{ports["rmm"]}"' in script
    webhook_url = objects[("ConfigMap", CONFIGMAP)]["data"]["REVIO_WEBHOOK_PUBLIC_URL"]
    assert webhook_url == "http://revio-connector:9102"


def test_production_overlay_has_no_sandbox_and_a_released_image(rendered):
    objects = keyed(rendered["production"])
    assert ("Deployment", "sandbox") not in objects
    assert ("Service", "sandbox") not in objects
    assert ("Job", "demo-tenant") not in objects
    for doc in rendered["production"]:
        for container in containers_of(doc):
            assert image_pinned(container["image"]), container["image"]
    assert objects[("ConfigMap", CONFIGMAP)]["data"]["CONSOLE_SECURE_COOKIES"] == "true"


def test_secrets_come_from_a_git_ignored_file_never_the_repository():
    for overlay in OVERLAYS:
        folder = K8S / "overlays" / overlay
        example = (folder / "secrets.env.example").read_text()
        keys = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", example, flags=re.MULTILINE)
        assert {k for k, _ in keys} == code.SECRET_NAMES
        assert all(value == "" for _, value in keys), "the example must not hold a value"
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(folder / "secrets.env")], cwd=code.REPO
        )
        assert ignored.returncode == 0, f"{folder}/secrets.env is not git-ignored"
    for path in K8S.rglob("*.yaml"):
        text = path.read_text()
        assert "kind: Secret" not in text or path.name == "kustomization.yaml", path
        assert not re.search(r"[A-Za-z0-9_-]{43}=", text), f"{path}: looks like a Fernet key"


def test_every_manifest_is_rendered_by_an_overlay():
    used = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        spec = yaml.safe_load(kustomization.read_text())
        entries = [*spec.get("resources", []), *(p["path"] for p in spec.get("patches", []))]
        used |= {(kustomization.parent / e).resolve() for e in entries}
    loose = [
        path.relative_to(K8S)
        for path in K8S.rglob("*.yaml")
        if path.name != "kustomization.yaml"
        and path.name != "nats-values.yaml"
        and path.resolve() not in used
    ]
    assert loose == []


def test_nats_values_give_jetstream_on_three_replicas_with_monitoring():
    values = yaml.safe_load((K8S / "nats-values.yaml").read_text())
    config = values["config"]
    assert config["cluster"]["enabled"] is True
    assert config["cluster"]["replicas"] == 3
    assert config["jetstream"]["enabled"] is True
    assert config["jetstream"]["fileStore"]["enabled"] is True
    assert config["jetstream"]["fileStore"]["pvc"]["enabled"] is True
    assert config["monitor"]["enabled"] is True
    assert str(config["monitor"]["port"]) == KEDA_ENDPOINT.rsplit(":", 1)[1]
    readme = (code.REPO / "deploy" / "README.md").read_text()
    install = f"helm upgrade --install {NATS_RELEASE} nats/nats --namespace {NATS_NAMESPACE}"
    assert install in readme and "-f deploy/k8s/nats-values.yaml" in readme


def test_the_consumers_are_the_ones_the_code_declares():
    """The recorder sees what the code declares (a sanity check of deploy_support)."""
    found = {c.durable for cs in code.consumers().values() for c in cs}
    assert {"alert-alerts", "ticket-rmm-tickets", "revio-connector-customer-create"} <= found
    for consumers in code.consumers().values():
        assert {c.stream for c in consumers} <= STREAMS


def test_settings_discovery_knows_every_direct_environment_read():
    """The env checks rely on pydantic-settings classes; a new os.environ read elsewhere, or a
    new SecretBox user, must be added to deploy_support first."""
    assert code.direct_env_readers() == code.DIRECT_ENV_READERS
    assert code.packages_using_secret_box() == code.SECRET_KEY_READERS


def test_every_long_running_process_declares_the_streams():
    """stream_replica_problems finds its processes through code.stream_declarers."""
    assert code.stream_declarers() == set(code.DEPLOYED)


def test_every_stream_declaration_applies_stream_replicas():
    assert code.ensure_streams_without_replicas() == []


# --- the checks can fail -------------------------------------------------------------------------


def mutated(docs: Docs, kind: str, name: str) -> tuple[Docs, dict[str, Any]]:
    copied = copy.deepcopy(docs)
    return copied, keyed(copied)[(kind, name)]


def first_container(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]["containers"][0]


def test_image_names_and_pins_are_read_right():
    assert image_name("registry:5000/team/revsync:1.2") == "revsync"
    assert image_name("revsync@sha256:" + "0" * 64) == "revsync"
    assert image_pinned("registry:5000/revsync:1.2")
    assert image_pinned("revsync@sha256:" + "0" * 64)
    assert not image_pinned("registry:5000/revsync")
    assert not image_pinned("revsync:latest")


def test_a_missing_probe_is_caught(rendered):
    docs, alert = mutated(rendered["production"], "Deployment", "alert")
    del first_container(alert)["readinessProbe"]
    assert any("readinessProbe" in p for p in deployment_problems(docs, "production"))
    docs, console = mutated(rendered["production"], "Deployment", "console")
    first_container(console)["livenessProbe"]["httpGet"]["path"] = "/"
    assert any("livenessProbe" in p for p in deployment_problems(docs, "production"))


def test_a_missing_deployment_or_limit_is_caught(rendered):
    docs = [d for d in copy.deepcopy(rendered["sandbox"]) if d["metadata"]["name"] != "ticket"]
    assert any("no Deployment ticket" in p for p in deployment_problems(docs, "sandbox"))
    docs, asset = mutated(rendered["sandbox"], "Deployment", "asset")
    del first_container(asset)["resources"]["limits"]
    assert any("resources.limits" in p for p in deployment_problems(docs, "sandbox"))


def test_a_variable_no_code_reads_is_caught(rendered):
    docs, ticket = mutated(rendered["production"], "Deployment", "ticket")
    first_container(ticket)["env"].append({"name": "RMM_POLL_INTERVAL_S", "value": "5"})
    assert any("RMM_POLL_INTERVAL_S is read by no code" in p for p in env_problems(docs))
    docs, config = mutated(rendered["production"], "ConfigMap", CONFIGMAP)
    config["data"]["TICKET_MODE"] = "fast"
    assert any("TICKET_MODE is read by no code" in p for p in env_problems(docs))


def test_a_missing_or_misplaced_secret_is_caught(rendered):
    docs, config = mutated(rendered["production"], "ConfigMap", CONFIGMAP)
    config["data"]["REVSYNC_SECRET_KEY"] = "oops"
    assert any("REVSYNC_SECRET_KEY is a secret" in p for p in env_problems(docs))
    docs, console = mutated(rendered["production"], "Deployment", "console")
    env = first_container(console)["env"]
    env[:] = [e for e in env if e["name"] != "REVSYNC_ADMIN_PASSWORD"]
    env.append({"name": "REVSYNC_ADMIN_PASSWORD", "value": "hunter2"})
    assert any("REVSYNC_ADMIN_PASSWORD" in p for p in env_problems(docs))
    docs, connector = mutated(rendered["production"], "Deployment", "cwrmm-connector")
    env = first_container(connector)["env"]
    env[:] = [e for e in env if e["name"] != "REVSYNC_SECRET_KEY"]
    assert any("REVSYNC_SECRET_KEY is needed" in p for p in env_problems(docs))


def test_a_missing_trigger_or_scaled_object_is_caught(rendered):
    docs, scaled = mutated(rendered["production"], "ScaledObject", "alert")
    scaled["spec"]["triggers"].pop()
    assert any("no trigger on CHANGES/alert-revio-tickets" in p for p in keda_problems(docs))
    docs = [d for d in copy.deepcopy(rendered["production"]) if d["kind"] != "ScaledObject"]
    assert any("no ScaledObject for services.company" in p for p in keda_problems(docs))


def test_a_missing_or_unreplicated_stream_replicas_is_caught(rendered):
    docs, relay = mutated(rendered["production"], "Deployment", "outbox-relay")
    env = first_container(relay)["env"]
    env[:] = [e for e in env if e["name"] != "STREAM_REPLICAS"]
    assert any(
        p.startswith("Deployment/outbox-relay/outbox-relay: no STREAM_REPLICAS")
        for p in stream_replica_problems(docs)
    )
    docs, console = mutated(rendered["production"], "Deployment", "console")
    [entry] = [e for e in first_container(console)["env"] if e["name"] == "STREAM_REPLICAS"]
    entry["valueFrom"]["configMapKeyRef"]["optional"] = True
    assert any(
        "console: STREAM_REPLICAS must not be optional" in p for p in stream_replica_problems(docs)
    )
    docs, config = mutated(rendered["production"], "ConfigMap", CONFIGMAP)
    config["data"]["STREAM_REPLICAS"] = "1"
    assert any("STREAM_REPLICAS is '1', not '3'" in p for p in stream_replica_problems(docs))
    docs = [d for d in copy.deepcopy(rendered["sandbox"]) if d["metadata"]["name"] != "ticket"]
    assert "services.ticket declares the streams and runs in no container" in (
        stream_replica_problems(docs)
    )


def test_an_unknown_field_fails_schema_validation(rendered):
    docs, relay = mutated(rendered["production"], "Deployment", "outbox-relay")
    first_container(relay)["livenesProbe"] = {"exec": {"command": ["true"]}}
    assert schema_problems(docs) != []
