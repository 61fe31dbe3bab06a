import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_access_table_in_the_docs_is_generated_from_the_current_policies():
    env = {"PYTHONWARNINGS": "ignore", "EVENTLET_TESTS": "1"}
    check = subprocess.run([sys.executable, "-m", "shared.access_docs", "--check"], cwd=ROOT,
                           capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stderr


def test_the_table_has_a_row_per_rpc_and_a_grid_worker_works_in_their_grid():
    table = (ROOT / "docs" / "access.md").read_text(encoding="utf-8")
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| registry") or
            line.startswith("| grid_events")]
    assert len(rows) > 50
    report = next(r for r in rows if r[1] == "`report_incident`")
    assert report[4] == "grid"  # grid_worker
