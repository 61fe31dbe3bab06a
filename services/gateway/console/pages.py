"""The console's entrypoints: a mixin of the gateway service (its db, accounts, caller, services).

Each page: who is logged in (cookie) → may their role open it (views.PAGES) → read through the
services as that actor → render. Live pages have a JSON twin (`?format=json`) the page polls.
"""

import glob
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from werkzeug.datastructures import MultiDict
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.gateway import use_cases, web
from services.gateway.console import views
from services.gateway.console.recorder import TRACED_SOURCES, record_event, trace_events
from services.gateway.web import api
from shared import clock
from shared.errors import CommandRefused, Forbidden

COOKIE = "sunshine_token"
LANG_COOKIE = "lang"
SERVICES = ("registry", "grid_events", "notifications", "market", "finance")
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(["html"]))


class History(DependencyProvider):
    """The queue-depth samples every page of this gateway process reads."""

    def setup(self):
        self.history = views.QueueHistory()

    def get_dependency(self, worker_ctx):
        return self.history


def _broker(config):
    from deploy.queues import ManagementApi, _vhost

    return (ManagementApi(use_cases.rabbit_api_uri(config)),
            _vhost(config["AMQP_URI"]))


def language_switch(args, lang):
    """The same page in the other language: its query (a filter, a year, a page) kept."""
    other = "en" if lang == "zh" else "zh"
    return "?" + urlencode([(k, v) for k, v in args.items(multi=True) if k != "lang"] + [("lang", other)])


class ConsolePages:
    queue_history = History()
    _query = MultiDict()  # the request's query, for the language switch (a worker serves one request)

    # ------------------------------------------------------------ plumbing

    def _page(self, request, page):
        """(claims, translate, lang) for a logged-in user who may open `page`; else a refusal."""
        self._query = request.args
        token = request.cookies.get(COOKIE)
        claims = use_cases.authenticate(self.db, self.accounts.tokens, f"Bearer {token}" if token else None,
                                        clock.now())
        self.caller.act_as(claims)
        if page and claims["role"] not in views.PAGES[page]:
            raise Forbidden("your role may not open this page", {"page": [page]})
        lang = views.language_of(request.args.get("lang"), request.cookies.get(LANG_COOKIE))
        return claims, lang

    def _render(self, template, claims, lang, status=200, **values):
        t = views.translator(lang)
        body = TEMPLATES.get_template(template).render(
            t=t, label=views.labeller(lang), lang=lang, claims=claims,
            lang_switch=language_switch(self._query, lang),
            pages=views.pages_for(claims["role"]) if claims else [], **values)
        response = Response(body, status=status, content_type="text/html; charset=utf-8")
        response.set_cookie(LANG_COOKIE, lang, samesite="Strict", max_age=365 * 86400)
        return response

    def _guarded(self, request, page, build):
        """Run a page; a missing/expired login goes to the login page, a refusal to a page saying so."""
        try:
            claims, lang = self._page(request, page)
        except CommandRefused as exc:
            if exc.http_status == 401:
                return redirect(f"/console/login?next={request.path}")
            lang = views.language_of(request.args.get("lang"), request.cookies.get(LANG_COOKIE))
            return self._render("refused.html", None, lang, status=exc.http_status, message="forbidden")
        try:
            return build(claims, lang)
        except CommandRefused as exc:  # a service refused what the page asked: say so on the page
            message = {503: "not_available", 404: "not_found"}.get(exc.http_status, "forbidden")
            return self._render("refused.html", claims, lang, status=exc.http_status, message=message)

    def _queue_rows(self):
        from deploy.queues import queue_rows

        api_, vhost = _broker(self.config)
        return queue_rows(api_, vhost)

    # ------------------------------------------------------------ login

    @api("GET", "/console/")
    def console_home(self, request):
        return self._guarded(request, None, lambda claims, lang: redirect(
            f"/console/{views.home_page(claims['role']) or 'login'}"))

    @api("GET", "/console/login")
    def console_login_form(self, request):
        lang = views.language_of(request.args.get("lang"), request.cookies.get(LANG_COOKIE))
        return self._render("login.html", None, lang, next=request.args.get("next", "/console/"))

    @api("POST", "/console/login")
    def console_login(self, request):
        form = request.form
        lang = views.language_of(None, request.cookies.get(LANG_COOKIE))
        a = self.accounts
        try:
            session = use_cases.login(self.db, a.passwords, a.tokens, a.lockout, form.get("username", ""),
                                      form.get("password", ""), clock.now())
        except CommandRefused:
            return self._render("login.html", None, lang, status=401, failed=True, next="/console/")
        target = form.get("next", "/console/")
        response = redirect(target if target.startswith("/console/") else "/console/")
        response.set_cookie(COOKIE, session["token"], httponly=True, samesite="Strict",
                            max_age=int(session.get("expires_in", 3600)))
        return response

    @api("POST", "/console/logout")
    def console_logout(self, request):
        token = request.cookies.get(COOKIE)
        if token:
            try:
                claims = use_cases.authenticate(self.db, self.accounts.tokens, f"Bearer {token}", clock.now())
                use_cases.logout(self.db, claims, clock.now())
            except CommandRefused:
                pass
        response = redirect("/console/login")
        response.delete_cookie(COOKIE)
        return response

    # ------------------------------------------------------------ operator pages

    @timer(interval=5)
    def sample_queues(self):
        """Depth samples for the sparklines, every 5 s, whether or not anyone is looking."""
        try:
            self.queue_history.add(datetime.now(UTC), self._queue_rows())
        except Exception:  # the broker's management API away: a gap in the line, not a crash
            pass

    @api("GET", "/console/queues")
    def console_queues(self, request):
        def build(claims, lang):
            rows = self._queue_rows()
            for row in rows:
                row["spark"] = views.sparkline_points(self.queue_history.depths(row["queue"]))
            if request.args.get("format") == "json":
                return {"queues": rows}
            return self._render("queues.html", claims, lang, rows=rows)
        return self._guarded(request, "queues", build)

    @api("GET", "/console/dlq")
    def console_dlq(self, request):
        from deploy.queues import dead_letters

        def build(claims, lang):
            api_, vhost = _broker(self.config)
            letters = dead_letters(api_, vhost, count=200)
            if request.args.get("format") == "json":
                return {"dead_letters": letters}
            by_dlq = {}
            for letter in letters:
                by_dlq.setdefault(letter["dlq"], []).append(letter)
            return self._render("dlq.html", claims, lang, by_dlq=by_dlq,
                                replayed=request.args.get("replayed"))
        return self._guarded(request, "dlq", build)

    @api("GET", "/console/dlq/confirm")
    def console_confirm_replay(self, request):
        """Replaying is a change: it is asked for on one page and confirmed on this one."""
        from deploy.queues import dead_letters

        def build(claims, lang):
            service = _service_named(request.args.get("service", ""))
            api_, vhost = _broker(self.config)
            waiting = len(dead_letters(api_, vhost, service, count=200))
            return self._render("confirm_replay.html", claims, lang, service=service, waiting=waiting,
                                all=bool(request.args.get("all")))
        return self._guarded(request, "dlq", build)

    @api("POST", "/console/dlq/replay")
    def console_replay(self, request):
        from deploy.queues import replay

        def build(claims, lang):
            service = _service_named(request.form.get("service", ""))
            limit = None if request.form.get("all") else 1
            count = replay(self.config["AMQP_URI"], service, limit)
            return redirect(f"/console/dlq?replayed={count}")
        return self._guarded(request, "dlq", build)

    @api("GET", "/console/health")
    def console_health(self, request):
        def build(claims, lang):
            self.caller.as_system()
            reports = {}
            for name in SERVICES:
                try:
                    reports[name] = self.services.call(name, "health")
                except Exception as exc:
                    reports[name] = {"error": getattr(exc, "code", type(exc).__name__)}
            return self._render("health.html", claims, lang, reports=reports)
        return self._guarded(request, "health", build)

    @api("GET", "/console/trace")
    def console_trace(self, request):
        def build(claims, lang):
            cid = (request.args.get("cid") or "").strip()[:100]
            entries = []
            if cid:
                log_dir = self.config.get("CONSOLE_LOG_DIR") or os.environ.get("CONSOLE_LOG_DIR", ".run/logs")
                entries = views.trace(trace_events(self.db, cid),
                                      views.log_lines_for(cid, sorted(glob.glob(f"{log_dir}/*.log"))))
            return self._render("trace.html", claims, lang, cid=cid, entries=entries)
        return self._guarded(request, "trace", build)

    @record_event(TRACED_SOURCES)
    def record_trace(self, bodies):
        trace_events.record(self.db, bodies)

    @api("GET", "/console/sla")
    def console_sla(self, request):
        def build(claims, lang):
            incidents = self._open_incidents(None)
            risk = views.sla_risk(incidents, clock.now())
            lag = views.feeding_lag(self._queue_rows())
            return self._render("sla.html", claims, lang, risk=risk, lag=lag)
        return self._guarded(request, "sla", build)

    # ------------------------------------------------------------ staff pages

    def _open_incidents(self, grid):
        found, page = [], 1
        while True:
            query = {"page": page, "page_size": 200, **({"grid_code": grid} if grid else {})}
            result = self.services.call("grid_events", "list_incidents", query)
            items = result["items"] if isinstance(result, dict) else result
            found += [i for i in items if i["status"] in ("reported", "dispatched", "accepted",
                                                           "in_progress", "reopened")]
            if len(items) < 200 or page >= 25:
                return [_times(i) for i in found]
            page += 1

    @api("GET", "/console/incidents")
    def console_incidents(self, request):
        def build(claims, lang):
            grid = claims.get("grid") or request.args.get("grid") or None
            columns = views.board(self._open_incidents(grid), clock.now())
            return self._render("incidents.html", claims, lang, columns=columns, grid=grid)
        return self._guarded(request, "incidents", build)

    @api("GET", "/console/incidents/<incident_id>")
    def console_incident(self, request, incident_id):
        def build(claims, lang):
            incident = _times(self.services.call("grid_events", "get_incident", incident_id))
            return self._render("incident.html", claims, lang, incident=incident)
        return self._guarded(request, "incidents", build)

    @api("GET", "/console/stats")
    def console_stats(self, request):
        from services.gateway.console import charts

        def build(claims, lang):
            period = views.period(request.args.get("from_date"), request.args.get("to_date"))
            if claims.get("grid"):
                stats = {claims["grid"]: self.services.call("grid_events", "grid_stats",
                                                            {"grid_code": claims["grid"], **period})}
            else:
                stats = self.services.call("grid_events", "all_grid_stats", period)
            rows = [{"grid_code": g, **{k: charts.rate_of(s.get(k)) for k in charts.RATES}}
                    for g, s in sorted(stats.items())]
            if request.args.get("format") == "csv":
                return web.csv_response(rows, ["grid_code", *charts.RATES], "grid-stats")
            chart = charts.rates_chart(rows, views.translator(lang))
            return self._render("stats.html", claims, lang, rows=rows, rates=charts.RATES,
                                labels=charts.RATE_LABELS, chart=chart)
        return self._guarded(request, "stats", build)


def _service_named(name):
    """A service name as DLQs are named (letters, digits, underscores), never a path or pattern."""
    if not name or len(name) > 40 or not name.replace("_", "").isalnum():
        raise Forbidden("unknown service", {"service": [name[:40]]})
    return name


def _times(incident):
    """Datetimes arrive over RPC as ISO strings: parse the ones the pages compare."""
    for key in ("reported_at", "due_at", "state_deadline"):
        if isinstance(incident.get(key), str):
            incident[key] = views.parse_time(incident[key])
    return incident
