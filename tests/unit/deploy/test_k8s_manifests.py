"""deploy/k8s validated offline: core kinds by kubernetes-validate, the operators' kinds by the
CRD schemas in deploy/k8s/schemas, and the manifests against each other and services/."""

import copy

import pytest

from deploy import k8s_check


@pytest.fixture(scope="module")
def documents():
    found, forgotten = k8s_check.load_manifests()
    assert not forgotten
    return found


def one(documents, kind, name=None):
    return next(copy.deepcopy(doc) for _, doc in documents
                if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name))


def test_every_manifest_is_valid_and_consistent():
    assert k8s_check.problems() == []


def test_a_misspelt_core_field_is_refused(documents):
    deployment = one(documents, "Deployment", "registry")
    deployment["spec"]["replicaz"] = 3
    assert k8s_check.schema_problems([("x.yaml", deployment)])


@pytest.mark.parametrize("kind, spoil", [
    ("ScaledObject", lambda d: d["spec"]["triggers"][0]["metadata"].update(mode="QueueLenght")),
    ("MongoDBCommunity", lambda d: d["spec"].pop("users")),
    ("RabbitmqCluster", lambda d: d["spec"].update(replica=3)),
    ("TriggerAuthentication", lambda d: d["spec"]["secretTargetRef"][0].pop("key")),
])
def test_a_spoilt_custom_resource_is_refused(documents, kind, spoil):
    doc = one(documents, kind)
    assert k8s_check.schema_problems([("x.yaml", doc)]) == []
    spoil(doc)
    assert k8s_check.schema_problems([("x.yaml", doc)])


def test_a_service_without_deployment_or_probes_is_reported(documents):
    kept = [(name, doc) for name, doc in documents if doc["metadata"]["name"] != "finance"]
    assert any("services/finance has no Deployment" in p
               for p in k8s_check.consistency_problems(kept, ["finance", "registry"]))
    spoilt = copy.deepcopy(documents)
    registry = next(doc for _, doc in spoilt if doc["kind"] == "Deployment"
                    and doc["metadata"]["name"] == "registry")
    del registry["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert any("no livenessProbe" in p for p in k8s_check.consistency_problems(spoilt, ["registry"]))
