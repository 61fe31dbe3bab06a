"""The demo economy is sized like the seed."""

from datetime import date

from services.finance import demo


def test_the_demo_economy_is_sized_like_the_seed():
    figures = demo.summary()
    assert figures["area_m2"] > 60_000
    assert figures["enterprises"] == 9
    assert abs(figures["income_fen"] - 25_200_000_00) <= 25_200_000_00 * 0.02  # 25.2 M yuan, ±2 %
    assert all(isinstance(lease["monthly_rent_fen"], int) for lease in demo.build()["leases"])


class _Reply:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class _Method:
    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def __call__(self, payload=None):
        self.calls.append(self.name)
        answers = {"stats": {"units": 0},
                   "preview_dividends": {"run_id": "DR", "shareholders": 3, "total_yuan": "1"},
                   "income_report": {"total_yuan": "1"}}
        return answers.get(self.name, {})

    def call_async(self, payload):
        return _Reply(self(payload))


class _Finance:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return _Method(name, self.calls)


def test_the_progress_bar_counts_every_call_the_load_makes(monkeypatch):
    shareholders = {"units": 0, "shareholders": 3, "groups": ["第1组"]}
    monkeypatch.setattr(demo, "_wait_for_shareholders", lambda *args: shareholders)
    today, finance, told = date(2026, 12, 7), _Finance(), []
    demo.load(finance, today, log=lambda line: None, progress=told.append)
    made = [c for c in finance.calls if c not in ("stats", "income_report")]  # reads: not counted
    assert sum(told) == len(made) == demo.size(today)
