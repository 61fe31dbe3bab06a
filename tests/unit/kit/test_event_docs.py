import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_event_table_in_the_docs_is_generated_from_the_current_catalogue():
    # A fresh interpreter: test modules register events of their own in this one.
    check = subprocess.run([sys.executable, "-m", "shared.events.docs", "--check"], cwd=ROOT,
                           capture_output=True, text=True, env={"PYTHONWARNINGS": "ignore"})
    assert check.returncode == 0, check.stderr


def test_the_table_lists_the_events_with_the_handlers_that_consume_them():
    table = (ROOT / "docs" / "events.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 20
    assert any("notifications.on_incident_dispatched" in row for row in rows)
