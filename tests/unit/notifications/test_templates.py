"""Templates are checked against the event catalogue; a broken one is caught before start."""

from datetime import UTC, date, datetime

import pytest

from services.notifications import templates as t
from services.notifications.domain import LANGUAGES, audience


def test_the_shipped_templates_fit_the_catalogue():
    assert t.check(t.TEMPLATES, t.LOCAL_TEMPLATES, t.SUBSCRIBED) == []


def test_every_event_with_an_audience_has_a_template_in_both_languages():
    for event_type, by_language in t.TEMPLATES.items():
        assert set(by_language) == set(LANGUAGES), event_type
    assert set(t.SUBSCRIBED) == set(t.TEMPLATES)


def test_a_variable_that_is_not_a_payload_field_is_reported_clearly():
    broken = {"grid_events.visit_overdue": {"zh-CN": ("{task_id}", "{resident_name}"),
                                            "en": ("{task_id}", "{due_on}")}}
    [problem] = t.check(broken)
    assert problem.startswith("template grid_events.visit_overdue v1[zh-CN] body uses {resident_name}, "
                              "which is not a field of grid_events.visit_overdue v1 (fields: ")
    assert "due_on" in problem


def test_unknown_events_missing_languages_positional_fields_and_missing_templates():
    problems = t.check({"nowhere.something_happened": {"zh-CN": ("a", "b"), "en": ("a", "b")},
                        "registry.resident_turned_60": {"zh-CN": ("{}", "{resident_id}")}},
                       subscribed=["grid_events.incident_dispatched"])
    assert "template for nowhere.something_happened: no such event in the catalogue" in problems
    assert "template registry.resident_turned_60 v1: no en text" in problems
    assert any("positional field {}" in p for p in problems)
    assert "grid_events.incident_dispatched is subscribed but has no template" in problems


def test_rendering_shows_datetimes_in_community_time_and_dates_as_iso():
    title, body = t.render(("{accept_by}", "{due_on} {missing_ok}"), {
        "accept_by": datetime(2026, 11, 2, 12, 0, tzinfo=UTC), "due_on": date(2026, 11, 9),
        "missing_ok": None})
    assert (title, body) == ("2026-11-02 20:00", "2026-11-09 ")


def test_a_message_is_made_for_events_with_an_audience_only():
    from shared.events import Event

    book = t.Templates(t.TEMPLATES, t.LOCAL_TEMPLATES)
    payload = {"incident_id": "I1", "grid_code": "3", "category": "noise", "resolution": "done",
               "reporter_resident_id": "R1", "resolved_by": None}
    event = Event("e1", "grid_events.incident_resolved", 1, datetime.now(UTC), "grid_events", "c", None,
                  None, payload)
    message, who = book.message(event)
    assert message.texts["en"][0] == "Your report was handled" and message.topic == "rating"
    assert audience(event.type, payload) == who
    nobody = Event("e2", event.type, 1, event.occurred_at, "grid_events", "c", None, None,
                   {**payload, "reporter_resident_id": None})
    assert book.message(nobody) == (None, None)


def test_the_template_book_refuses_to_set_up_with_problems():
    class FakeContainer:
        service_name = "notifications"

    book = t.TemplateBook(templates={"grid_events.visit_overdue": {"zh-CN": ("{nope}", ""), "en": ("", "")}},
                          subscribed=())
    book.container = FakeContainer()
    with pytest.raises(t.TemplateError, match=r"notifications cannot start, 1 template problem\(s\)"):
        book.setup()


def test_codes_reach_people_as_names_in_their_language():
    pair = t.TEMPLATES["grid_events.incident_dispatched"]
    payload = {"incident_id": "INC-1", "grid_code": "G3", "category": "other", "priority": "low",
               "summary": "路灯坏了", "accept_by": datetime(2026, 11, 2, 4, 0, tzinfo=UTC)}
    _, zh = t.render(pair["zh-CN"], payload, "zh-CN")
    _, en = t.render(pair["en"], payload, "en")
    assert "其他" in zh and "（低）" in zh and "other" not in zh and "low" not in zh
    assert "an incident (other, low priority)" in en


def test_finance_tells_the_shareholder_in_yuan_though_money_travels_in_fen():
    from shared.events import Event

    book = t.Templates(t.TEMPLATES, t.LOCAL_TEMPLATES)
    payload = {"payment_id": "DR-2025:SH-00001", "run_id": "DR-2025", "year": 2025,
               "shareholder_id": "SH-00001", "resident_id": "R-000001", "group": "第3组", "shares": 5,
               "community_fen": 631_007,
               "group_fen": 212_000, "amount_fen": 843_007, "entry_id": "DR-2025:SH-00001"}
    event = Event("e3", "finance.dividend_paid", 1, datetime.now(UTC), "finance", "c", None, None, payload)
    message, who = book.message(event)
    assert message.topic == "finance" and who.selectors[0].id == "R-000001"
    assert "8,430.07 yuan" in message.texts["en"][1] and "8,430.07元" in message.texts["zh-CN"][1]
