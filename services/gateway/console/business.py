"""The console's night-market and dividend pages: a mixin of the gateway service, beside
ConsolePages (whose `_guarded` and `_render` they use).

- Night view (夜市当晚): one night's stalls by zone with attendance, its violations, footfall and
  takings, from market's `market_stats`, `list_stalls` and `list_violations`.
- Dividend run (分红): preview (the maker, finance_officer), approval by a second person (the
  checker, finance_approver; finance refuses the maker), payment with its progress, and a
  statement per shareholder, from finance's dividend RPCs.
"""

from werkzeug.utils import redirect

from services.gateway.console import views
from services.gateway.web import api
from services.market.domain import night_id
from shared import clock
from shared.access import FINANCE_APPROVER, FINANCE_OFFICER
from shared.errors import CommandRefused, Forbidden, NotFound

RUN_OPEN = ("approved", "paying")


class NightAndDividendPages:

    def _all_items(self, service, method, query, pages=20):
        """Every item of a paged list (500 a page, `pages` at most)."""
        found = []
        for page in range(1, pages + 1):
            result = self.services.call(service, method, {**query, "page": page, "page_size": 500})
            found += result["items"]
            if len(result["items"]) < 500:
                break
        return found

    # ------------------------------------------------------------ night market

    @api("GET", "/console/night")
    def console_night(self, request):
        def build(claims, lang):
            day = views.day_or(request.args.get("date"), views.local_day(clock.now()))
            try:
                stats = self.services.call("market", "market_stats",
                                           {"period": "night", "key": day.isoformat()})
            except NotFound:
                stats = None  # no market that night
            stalls = self._all_items("market", "list_stalls", {})
            violations = self._all_items("market", "list_violations", {"night_id": night_id(day)}) \
                if stats else []
            return self._render("night.html", claims, lang, day=day, stats=stats, yuan=views.yuan,
                                zones=views.zones(stalls, (stats or {}).get("present_stalls")),
                                violations=violations)
        return self._guarded(request, "night", build)

    # ------------------------------------------------------------ dividends

    def _run_of(self, year):
        try:
            return self.services.call("finance", "dividend_run", {"run_id": f"DR-{year}"})
        except NotFound:
            return None

    def _year(self, value):
        """The run's year from the page; this year when it is missing or not a year."""
        return views.year_or(value, views.local_day(clock.now()).year)

    @api("GET", "/console/dividends")
    def console_dividends(self, request):
        def build(claims, lang):
            return self._dividends_page(claims, lang, self._year(request.args.get("year")),
                                        paying=bool(request.args.get("paying")))
        return self._guarded(request, "dividends", build)

    def _dividends_page(self, claims, lang, year, paying=False, error=None, status=200, form=None):
        run = self._run_of(year)
        role, me = claims["role"], self.caller.actor["id"]
        state = run["status"] if run else None
        may = {
            "preview": role == FINANCE_OFFICER and state in (None, "previewed"),
            "approve": role == FINANCE_APPROVER and state == "previewed" and run["maker"] != me,
            "pay": role in (FINANCE_OFFICER, FINANCE_APPROVER) and state in RUN_OPEN,
            "read_statements": role in (FINANCE_OFFICER, FINANCE_APPROVER),
        }
        # shareholders and groups known to finance, for the preview form
        known = self.services.call("finance", "stats", {}) if may["preview"] else None
        if form is None and run is not None:  # a preview asked again starts from the one standing
            form = {"community_yuan": views.yuan(run["community_fen"]),
                    **{f"group:{g}": views.yuan(fen) for g, fen in run["groups_fen"].items()}}
        return self._render(
            "dividends.html", claims, lang, status=status, year=year, run=run, known=known, error=error,
            form=form or {}, yuan=views.yuan, progress=views.progress(run) if run else 0, may=may,
            is_maker=run is not None and run["maker"] == me,
            refresh=state == "paying" or (paying and state == "approved"))

    @api("POST", "/console/dividends/preview")
    def console_preview_dividends(self, request):
        def build(claims, lang):
            form = request.form
            year = self._year(form.get("year"))
            try:
                groups = {key[len("group:"):]: views.fen_of(value)
                          for key, value in form.items() if key.startswith("group:") and value}
                preview = {"year": year, "community_fen": views.fen_of(form.get("community_yuan")),
                           "groups_fen": groups}
            except ValueError:
                return self._dividends_page(claims, lang, year, error="dividends.bad_amount", status=422,
                                            form=form)
            try:
                self.services.call("finance", "preview_dividends", preview)
            except CommandRefused as exc:
                if isinstance(exc, Forbidden):
                    raise
                return self._dividends_page(claims, lang, year, error=exc.message, status=exc.http_status,
                                            form=form)
            return redirect(f"/console/dividends?year={year}")
        return self._guarded(request, "dividends", build)

    @api("POST", "/console/dividends/approve")
    def console_approve_dividends(self, request):
        return self._run_action(request, "approve_dividends")

    @api("POST", "/console/dividends/pay")
    def console_pay_dividends(self, request):
        return self._run_action(request, "run_dividends")

    def _run_action(self, request, method):
        def build(claims, lang):
            year = self._year(request.form.get("year"))
            run_id = {"run_id": f"DR-{year}"}
            if method == "run_dividends":
                # Paying takes as long as the run is big: asked for here, followed on the run's
                # page (its progress), never waited for by this request.
                self.services.call_async("finance", method, run_id)
                return redirect(f"/console/dividends?year={year}&paying=1")
            try:
                self.services.call("finance", method, run_id)
            except CommandRefused as exc:
                return self._dividends_page(claims, lang, year, error=exc.message, status=exc.http_status)
            return redirect(f"/console/dividends?year={year}")
        return self._guarded(request, "dividends", build)

    @api("GET", "/console/dividends/statement")
    def console_dividend_statement(self, request):
        def build(claims, lang):
            ref = (request.args.get("shareholder_id") or "").strip()[:20]
            statement = self.services.call("finance", "dividend_statement", {"shareholder_id": ref})
            return self._render("statement.html", claims, lang, s=statement, yuan=views.yuan)
        return self._guarded(request, "dividends", build)
