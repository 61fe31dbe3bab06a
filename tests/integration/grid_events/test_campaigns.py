"""Door-to-door campaigns: the coverage report lists exactly who is still missed."""

import pytest

from shared.errors import InvalidInput, NotFound


def test_campaign_coverage_lists_exactly_the_missed_households_and_people(community, rpc, emitted):
    ge = rpc("grid_events")
    h1 = community.household("B1", "101")
    a, b = community.resident(h1, "甲"), community.resident(h1, "乙")
    h2 = community.household("B1", "102")
    c = community.resident(h2, "丙")
    h3 = community.household("B2", "201")  # nobody registered in it yet
    h4 = community.household("B3", "301")  # grid G2: not in the campaign
    community.resident(h4, "丁")

    campaign = ge.start_campaign({"name": "反诈入户宣传", "kind": "anti_fraud", "grid_codes": ["G1"]})
    cid = campaign["campaign_id"]
    assert (campaign["households"], campaign["residents"]) == (3, 3)

    ge.record_household_visit({"campaign_id": cid, "household_id": h1, "residents_reached": [a]})
    report = ge.campaign_coverage(cid)
    assert report["households"] == {"total": 3, "visited": 1, "missed": 2}
    assert report["residents"] == {"total": 3, "reached": 1, "missed": 2}
    assert sorted(h["household_id"] for h in report["missed_households"]) == sorted([h2, h3])
    assert {h["household_id"]: h["room"] for h in report["missed_households"]} == {h2: "102", h3: "201"}
    assert sorted((r["household_id"], r["resident_id"]) for r in report["missed_residents"]) == sorted(
        [(h1, b), (h2, c)])
    assert report["complete"] is False

    with pytest.raises(InvalidInput) as refused:
        ge.record_household_visit({"campaign_id": cid, "household_id": h1, "residents_reached": [c]})
    assert "residents_reached" in refused.value.fields
    with pytest.raises(NotFound):
        ge.record_household_visit({"campaign_id": cid, "household_id": h4, "residents_reached": []})
    assert ge.campaign_coverage(cid)["residents"]["reached"] == 1  # the refusals changed nothing

    ge.record_household_visit({"campaign_id": cid, "household_id": h1, "residents_reached": [b]})
    ge.record_household_visit({"campaign_id": cid, "household_id": h3, "residents_reached": []})
    assert emitted("grid_events.campaign_completed", 0) == []
    final = ge.record_household_visit({"campaign_id": cid, "household_id": h2, "residents_reached": [c]})
    assert final["complete"] is True and final["missed_households"] == [] and final["missed_residents"] == []
    ge.record_household_visit({"campaign_id": cid, "household_id": h2, "residents_reached": [c]})
    assert emitted("grid_events.campaign_completed") == [
        {"campaign_id": cid, "name": "反诈入户宣传", "grid_codes": ["G1"], "households": 3, "residents": 3}]


def test_two_visits_finishing_a_campaign_at_once_complete_it_once(community, rpc, config, emitted):
    import eventlet
    from nameko.standalone.rpc import ClusterRpcProxy

    ge = rpc("grid_events")
    households = [community.household("B1", str(room)) for room in range(1, 5)]
    cid = ge.start_campaign({"name": "防疫排查", "grid_codes": ["G1"]})["campaign_id"]
    for h in households[:2]:
        ge.record_household_visit({"campaign_id": cid, "household_id": h})

    def visit(household_id):
        with ClusterRpcProxy(config, context_data={"actor": {"id": "w", "role": "grid_worker",
                                                             "grid": "G1"}}) as cluster:
            return cluster.grid_events.record_household_visit({"campaign_id": cid,
                                                               "household_id": household_id})

    pool = eventlet.GreenPool()
    results = list(pool.imap(visit, households[2:]))
    assert any(r["complete"] for r in results)
    assert ge.campaign_coverage(cid)["complete"] is True
    assert len(emitted("grid_events.campaign_completed")) == 1
