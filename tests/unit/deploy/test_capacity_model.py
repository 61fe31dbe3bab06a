"""docs/scale.md shows the capacity table bench/capacity.py computes (regenerate: run the script)."""

import os

from bench import capacity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_docs_show_the_table_the_model_computes():
    with open(os.path.join(ROOT, "docs", "scale.md")) as doc:
        assert capacity.table() in doc.read()


def test_more_communities_never_need_fewer_servers():
    small, large = (capacity.servers(capacity.load(n)) for n in (1, 167))
    for key in ("pods", "broker nodes", "database members", "writes", "messages"):
        assert large[key] >= small[key]
    assert capacity.servers(capacity.load(1))["pods"] == capacity.SERVICES * capacity.MIN_INSTANCES
