#!/usr/bin/env python3
"""What the Kubernetes schemas cannot say, checked on a rendered kustomization (kubectl kustomize):
the agent is a native sidecar beside the app, shares its socket through an emptyDir, takes its
configuration from a ConfigMap, is probed on /readyz and /healthz, drains, runs locked down, has
measured resources, gossips through a headless Service, and is scraped by Prometheus.

    kubectl kustomize deploy/kubernetes/overlays/example | deploy/kubernetes/check.py
"""
import sys

import yaml

problems = []


def expect(condition, what):
    if not condition:
        problems.append(what)


documents = [d for d in yaml.safe_load_all(sys.stdin) if d]
by_kind = {}
for document in documents:
    by_kind.setdefault(document["kind"], []).append(document)

deployment = by_kind["Deployment"][0]
pod = deployment["spec"]["template"]["spec"]
annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
sidecars = [c for c in pod.get("initContainers", []) if c["name"] == "levee"]
expect(len(sidecars) == 1, "one init container named levee")
agent = sidecars[0] if sidecars else {}
apps = pod.get("containers", [])
expect(agent.get("restartPolicy") == "Always", "the agent is a native sidecar (restartPolicy: Always)")
expect(agent.get("args", [None])[0] == "agent", "the sidecar runs `levee agent`")
expect(any(a.startswith("--gossip-advertise=$(POD_IP)") for a in agent.get("args", [])), "it advertises the pod IP")
expect(any(e["name"] == "POD_IP" and e["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
           for e in agent.get("env", [])), "POD_IP from the downward API")

volumes = {v["name"]: v for v in pod.get("volumes", [])}
mounts = {m["mountPath"]: m["name"] for m in agent.get("volumeMounts", [])}
socket_volume = mounts.get("/run/levee")
expect(socket_volume and "emptyDir" in volumes.get(socket_volume, {}), "the socket folder is an emptyDir")
for app in apps:
    expect(any(m["name"] == socket_volume for m in app.get("volumeMounts", [])), f"{app['name']} mounts the socket")
    expect(any(e["name"] == "LEVEE_SOCKET" for e in app.get("env", [])), f"{app['name']} has LEVEE_SOCKET")
config_volume = mounts.get("/etc/levee")
config_map = volumes.get(config_volume, {}).get("configMap", {}).get("name")
expect(config_map in [c["metadata"]["name"] for c in by_kind.get("ConfigMap", [])], "the config is a ConfigMap")
expect(all("levee.yaml" in c["data"] for c in by_kind.get("ConfigMap", [])), "the ConfigMap holds levee.yaml")

for probe, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
    expect(agent.get(probe, {}).get("httpGet", {}).get("path") == path, f"{probe} on {path}")
expect("preStop" in agent.get("lifecycle", {}), "a preStop hook")
grace = pod.get("terminationGracePeriodSeconds", 30)
drain = next((float(a.split("=")[1]) for a in agent.get("args", []) if a.startswith("--drain-timeout=")), 10)
pre_stop = agent.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
expect(grace > drain + pre_stop, f"terminationGracePeriodSeconds {grace} > preStop {pre_stop} + drain {drain}")

security = pod.get("securityContext", {})
expect(security.get("runAsNonRoot") is True and security.get("runAsUser", 0) != 0, "non-root")
for container in [agent] + apps:
    context = container.get("securityContext", {})
    expect(context.get("readOnlyRootFilesystem") is True, f"{container.get('name')}: read-only root filesystem")
    expect(context.get("allowPrivilegeEscalation") is False, f"{container.get('name')}: no privilege escalation")
    expect(context.get("capabilities", {}).get("drop") == ["ALL"], f"{container.get('name')}: all capabilities dropped")
    resources = container.get("resources", {})
    expect("memory" in resources.get("requests", {}) and "memory" in resources.get("limits", {}),
           f"{container.get('name')}: memory requests and limits")

ports = {(p["containerPort"], p.get("protocol", "TCP")) for p in agent.get("ports", [])}
expect({(7946, "TCP"), (7946, "UDP"), (9901, "TCP")} <= ports, "gossip TCP+UDP and metrics ports")
headless = [s for s in by_kind.get("Service", []) if s["spec"].get("clusterIP") == "None"]
expect(len(headless) == 1, "a headless Service")
if headless:
    service = headless[0]["spec"]
    expect(service.get("publishNotReadyAddresses") is True, "the headless Service lists pods before they are ready")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    expect(all(labels.get(k) == v for k, v in service["selector"].items()), "the headless Service selects the pods")
    expect({(p["port"], p.get("protocol", "TCP")) for p in service["ports"]} == {(7946, "TCP"), (7946, "UDP")},
           "the headless Service has the gossip ports")
expect(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/port") == "9901",
       "Prometheus scrape annotations")

if problems:
    print("deploy/kubernetes: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"deploy/kubernetes: {len(documents)} documents: native sidecar, probes, drain, lockdown, gossip, scrape: ok")
