"""The console's page logic without I/O: strings, pages per role, sparklines, SLA risk, the board,
and a trace as a causation tree."""

from datetime import UTC, datetime, timedelta

from services.gateway.console import views

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_both_languages_have_the_same_strings_and_chinese_is_the_default():
    assert set(views._STRINGS["zh"]) == set(views._STRINGS["en"])
    assert views.language_of(None, None) == "zh"
    assert views.language_of("en", "zh") == "en"
    assert views.language_of("fr", "en") == "en"
    assert views.translator("zh")("nav.queues") == "队列"


def test_operator_pages_are_for_operators_and_the_board_for_grid_staff():
    assert views.pages_for("operator")[:4] == ["queues", "dlq", "health", "trace"]
    assert "queues" not in views.pages_for("grid_worker")
    assert views.home_page("grid_worker") == "incidents"
    assert views.home_page("resident") is None


def test_sparkline_scales_from_zero_to_the_highest_depth():
    points = views.sparkline_points([0, 5, 10], width=100, height=22)
    assert points == "0.0,21.0 50.0,11.0 100.0,1.0"
    assert views.sparkline_points([]) == ""


def test_sla_risk_splits_past_and_near_deadlines_per_grid():
    incidents = [
        {"incident_id": "A", "grid_code": "G1", "due_at": NOW - timedelta(minutes=1)},
        {"incident_id": "B", "grid_code": "G1", "due_at": NOW + timedelta(hours=5),
         "state_deadline": NOW + timedelta(minutes=20)},
        {"incident_id": "C", "grid_code": "G2", "due_at": NOW + timedelta(hours=2)},
    ]
    risk = views.sla_risk(incidents, NOW)
    assert [i["incident_id"] for i in risk["G1"]["breached"]] == ["A"]
    assert [i["incident_id"] for i in risk["G1"]["at_risk"]] == ["B"]
    assert risk["G2"] == {"breached": [], "at_risk": []}


def test_board_puts_each_incident_in_the_first_column_that_fits():
    incidents = [
        {"incident_id": "new", "status": "reported", "due_at": NOW + timedelta(hours=1)},
        {"incident_id": "late", "status": "dispatched", "due_at": NOW - timedelta(hours=1)},
        {"incident_id": "up", "status": "accepted", "escalation_level": 2,
         "due_at": NOW - timedelta(hours=1)},
        {"incident_id": "work", "status": "in_progress", "due_at": NOW + timedelta(hours=1)},
    ]
    columns = views.board(incidents, NOW)
    assert {c: [i["incident_id"] for i in items] for c, items in columns.items()} == {
        "new": ["new"], "dispatched": ["work"], "overdue": ["late"], "escalated": ["up"]}


def test_feeding_lag_counts_the_queues_a_service_consumes():
    rows = [{"queue": "rpc-grid_events", "depth": 3, "unacked": 1},
            {"queue": "evt-registry-resident_moved_out--grid_events.on_moved_out", "depth": 5, "unacked": 0},
            {"queue": "evt-grid_events-incident_reported--notifications.x", "depth": 50, "unacked": 0}]
    assert views.feeding_lag(rows) == {"messages": 9, "queues": 2}


def test_trace_orders_by_time_and_links_each_step_to_its_cause():
    t = NOW.isoformat()
    later = (NOW + timedelta(seconds=1)).isoformat()
    events = [{"event_id": "e1", "type": "grid_events.incident_reported", "source": "grid_events",
               "causation_id": None, "occurred_at": t},
              {"event_id": "e2", "type": "grid_events.incident_dispatched", "source": "grid_events",
               "causation_id": "e1", "occurred_at": later}]
    logs = [{"ts": (NOW + timedelta(seconds=2)).isoformat(), "msg": "handled by on_dispatched",
             "service": "notifications", "event_id": "e2"},
            {"ts": (NOW - timedelta(seconds=1)).isoformat(), "msg": "rpc grid_events.report_incident ok",
             "service": "grid_events"},
            {"ts": t, "msg": "something else"}]
    entries = views.trace(events, logs)
    assert [(e["kind"], e["depth"], e["cause"]) for e in entries] == [
        ("rpc", 0, None), ("event", 0, None), ("event", 1, "e1"), ("handled", 2, "e2")]


def test_a_stats_period_is_two_local_days_inclusive():
    assert views.period("2026-11-01", "2026-11-30") == {
        "reported_from": "2026-11-01T00:00:00+08:00", "reported_to": "2026-11-30T23:59:59+08:00"}
    assert views.period("", "not a date") == {}


def test_the_night_view_puts_each_stall_in_its_zone_present_absent_or_vacant():
    stalls = [{"stall_id": "S-B001", "zone": "B", "number": 1, "status": "allocated"},
              {"stall_id": "S-A002", "zone": "A", "number": 2, "status": "vacant"},
              {"stall_id": "S-A001", "zone": "A", "number": 1, "status": "allocated"},
              {"stall_id": "S-A003", "zone": "A", "number": 3, "status": "allocated"}]
    zones = views.zones(stalls, ["S-A003"])
    assert list(zones) == ["A", "B"]
    assert [(s["stall_id"], s["state"]) for s in zones["A"]["stalls"]] == [
        ("S-A001", "absent"), ("S-A002", "vacant"), ("S-A003", "present")]
    assert (zones["A"]["allocated"], zones["A"]["present"]) == (2, 1)
    assert (zones["B"]["allocated"], zones["B"]["present"]) == (1, 0)
    assert views.zones([], None) == {}


def test_a_market_night_is_named_by_the_community_s_local_day():
    assert views.local_day(datetime(2026, 11, 2, 17, 30, tzinfo=UTC)).isoformat() == "2026-11-03"
    assert views.day_or("2026-11-02", None).isoformat() == "2026-11-02"
    assert views.day_or("11/02", "today") == "today"
    assert views.year_or("2026", 2000) == 2026
    assert views.year_or("20261", 2000) == 2000 and views.year_or("-1", 2000) == 2000


def test_yuan_typed_in_a_form_become_fen_exactly():
    assert views.fen_of("1000") == 100000
    assert views.fen_of(" 1,234.05 ") == 123405
    assert views.fen_of("0.1") == 10
    for bad in ("", "abc", "-5", "1.005", "NaN", "Infinity", "1e400"):
        try:
            views.fen_of(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was taken as an amount")
    assert views.yuan(123405) == "1,234.05" and views.yuan(-5) == "-0.05" and views.yuan(None) == "—"


def test_a_run_s_progress_counts_its_lines_paid():
    assert views.progress({"shareholders": 4, "lines_paid": 1}) == 25
    assert views.progress({"shareholders": 4, "paid": 4}) == 100
    assert views.progress({"shareholders": 0}) == 100


def test_codes_a_person_reads_have_a_name_in_both_languages():
    from services.grid_events import domain as incidents
    from shared.events import grid_events

    vocabulary = {"category": grid_events.CATEGORIES, "priority": grid_events.PRIORITIES,
                  "status": incidents.STATUSES}
    for lang in ("zh", "en"):
        for field, codes in vocabulary.items():
            missing = [code for code in codes if f"{field}.{code}" not in views._STRINGS[lang]]
            assert missing == [], (lang, field)
    assert views.labeller("zh")("category", "noise") == "噪音扰民"
    assert views.labeller("en")("status", "in_progress") == "in progress"
    assert views.labeller("zh")("category", "新分类") == "新分类"  # unknown: the code as it is
