"""Offline validation of deploy/k8s: every manifest against its schema, and against each other.

    python -m deploy.k8s_check            prints one line per problem; exit 1 if any

- core kinds (Deployment, Service, Ingress, PodDisruptionBudget, HPA, ConfigMap, Secret, Namespace)
  with kubernetes-validate, strict (an unknown field is an error), for KUBERNETES_VERSION;
- the operators' kinds (RabbitmqCluster, User, Permission, MongoDBCommunity, ScaledObject,
  TriggerAuthentication) against deploy/k8s/schemas/crds.yaml;
- and what no schema sees: every service in services/ has a Deployment, every Deployment has
  probes, resource requests and a PodDisruptionBudget, every consumer a ScaledObject, every
  Secret, ConfigMap, Service and TriggerAuthentication named is declared.
"""

import os
import sys

import jsonschema
import kubernetes_validate
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K8S = os.path.join(ROOT, "deploy", "k8s")
KUBERNETES_VERSION = "1.31.0"
# Secrets the operators write (not in the manifests): the MongoDB user's connection string.
OPERATOR_SECRETS = {"sunshine-mongo-admin-sunshine"}
# The gateway serves HTTP and scales on CPU (an HPA); every other service consumes queues.
HTTP_SERVICES = {"gateway"}


def load_manifests():
    """(file, document) for every resource the kustomization lists; and files it forgets."""
    with open(os.path.join(K8S, "kustomization.yaml")) as f:
        listed = yaml.safe_load(f)["resources"]
    documents = []
    for name in listed:
        with open(os.path.join(K8S, name)) as f:
            documents += [(name, doc) for doc in yaml.safe_load_all(f) if doc]
    present = {os.path.relpath(os.path.join(folder, f), K8S)
               for folder, _, files in os.walk(K8S) for f in files if f.endswith(".yaml")}
    forgotten = present - set(listed) - {"kustomization.yaml"} - {
        f for f in present if f.startswith("schemas" + os.sep)}
    return documents, sorted(forgotten)


def crd_schemas():
    with open(os.path.join(K8S, "schemas", "crds.yaml")) as f:
        return yaml.safe_load(f)


def schema_problems(documents):
    schemas = crd_schemas()
    problems = []
    for name, doc in documents:
        where = f"{name}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        key = f"{doc.get('apiVersion')}/{doc.get('kind')}"
        if key in schemas["kinds"]:
            schema = {**schemas["kinds"][key], "definitions": schemas["definitions"]}
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
            if doc["kind"] == "ScaledObject":
                for trigger in doc.get("spec", {}).get("triggers", []):
                    if trigger.get("type") == "rabbitmq":
                        errors += [f"trigger metadata: {e.message}" for e in jsonschema.Draft7Validator(
                            schemas["rabbitmq_trigger"]).iter_errors(trigger["metadata"])]
            problems += [f"{where}: {error}" for error in errors]
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where}: no schema for {key} (a custom resource needs one in crds.yaml)")
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {'/'.join(map(str, exc.path))}: {exc.message}")
    return problems


def _named(documents, kind):
    return {doc["metadata"]["name"]: doc for _, doc in documents if doc.get("kind") == kind}


def _container_refs(container):
    for env in container.get("env", []):
        ref = env.get("valueFrom", {})
        if "secretKeyRef" in ref:
            yield "Secret", ref["secretKeyRef"]["name"]
        if "configMapKeyRef" in ref:
            yield "ConfigMap", ref["configMapKeyRef"]["name"]
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            yield "Secret", source["secretRef"]["name"]
        if "configMapRef" in source:
            yield "ConfigMap", source["configMapRef"]["name"]


def consistency_problems(documents, services):
    problems = []
    deployments = _named(documents, "Deployment")
    secrets = set(_named(documents, "Secret")) | OPERATOR_SECRETS
    config_maps = set(_named(documents, "ConfigMap"))
    by_service = {}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        for container in pod["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if "SERVICE" in env:
                by_service[env["SERVICE"]] = name
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    problems.append(f"Deployment {name}: container {container['name']} has no {probe}")
            if not container.get("resources", {}).get("requests"):
                problems.append(f"Deployment {name}: container {container['name']} requests no resources")
            for kind, ref in _container_refs(container):
                if ref not in (secrets if kind == "Secret" else config_maps):
                    problems.append(f"Deployment {name}: {kind} {ref} is not declared")
        if not any(set(pdb["spec"]["selector"]["matchLabels"].items()) <= set(labels.items())
                   for pdb in _named(documents, "PodDisruptionBudget").values()):
            problems.append(f"Deployment {name}: no PodDisruptionBudget selects its pods")
    for service in services:
        if service not in by_service:
            problems.append(f"services/{service} has no Deployment (env SERVICE={service})")
    scaled = {so["spec"]["scaleTargetRef"]["name"] for so in _named(documents, "ScaledObject").values()}
    autoscaled = {hpa["spec"]["scaleTargetRef"]["name"]
                  for hpa in _named(documents, "HorizontalPodAutoscaler").values()}
    for service, name in by_service.items():
        wanted = autoscaled if service in HTTP_SERVICES else scaled
        if name not in wanted:
            problems.append(f"Deployment {name}: no {'HPA' if service in HTTP_SERVICES else 'ScaledObject'}")
    for target in (scaled | autoscaled) - set(deployments):
        problems.append(f"an autoscaler targets {target}, which is not a Deployment")
    auths = set(_named(documents, "TriggerAuthentication"))
    for so in _named(documents, "ScaledObject").values():
        for trigger in so["spec"]["triggers"]:
            ref = trigger.get("authenticationRef", {}).get("name")
            if ref and ref not in auths:
                problems.append(f"ScaledObject {so['metadata']['name']}: "
                                f"TriggerAuthentication {ref} is not declared")
    for auth in _named(documents, "TriggerAuthentication").values():
        for ref in auth["spec"].get("secretTargetRef", []):
            if ref["name"] not in secrets:
                problems.append(f"TriggerAuthentication {auth['metadata']['name']}: "
                                f"Secret {ref['name']} is not declared")
    services_declared = set(_named(documents, "Service"))
    for ingress in _named(documents, "Ingress").values():
        for rule in ingress["spec"].get("rules", []):
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]["name"]
                if backend not in services_declared:
                    problems.append(f"Ingress {ingress['metadata']['name']}: "
                                    f"Service {backend} is not declared")
    return problems


def platform_services():
    folder = os.path.join(ROOT, "services")
    return sorted(name for name in os.listdir(folder)
                  if os.path.exists(os.path.join(folder, name, "service.py")))


def problems():
    documents, forgotten = load_manifests()
    found = [f"{name} is not listed in kustomization.yaml" for name in forgotten]
    return found + schema_problems(documents) + consistency_problems(documents, platform_services())


def main():
    found = problems()
    for problem in found:
        print(problem)
    if not found:
        documents, _ = load_manifests()
        print(f"[k8s] {len(documents)} resources valid (Kubernetes {KUBERNETES_VERSION}, operators' CRDs)",
              file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
