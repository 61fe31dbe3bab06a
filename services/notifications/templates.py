"""Message templates (消息模板) per event type and language, checked when the service starts.

A template is a (title, body) pair of `str.format` strings whose variables are fields of the
event's payload as the catalogue declares it (`shared.events.spec(type).schema`). A variable
that is not a declared field, a template for an unknown event, a missing language or a
subscribed event without a template is a `TemplateError` raised by `TemplateBook.setup()`:
the service does not start.
"""

import string
from datetime import date, datetime

from nameko.extensions import DependencyProvider

from services.notifications.domain import LANGUAGES, LOCAL_TZ, Message, audience
from shared import events
from shared.events import grid_events

TEMPLATES = {
    "grid_events.incident_dispatched": {
        "zh-CN": ("新事件待处理：{incident_id}",
                  "网格{grid_code}有一件{category}事件（{priority}）派给您：{summary}。请在{accept_by}前接单。"),
        "en": ("New incident for you: {incident_id}",
               "Grid {grid_code}: an incident ({category}, {priority}) is yours: {summary}. "
               "Please accept it by {accept_by}."),
    },
    "grid_events.incident_reported": {
        "zh-CN": ("事件无人接手：{incident_id}",
                  "网格{grid_code}报告了一件{category}事件（{priority}），该网格目前无人负责，请派单：{summary}"),
        "en": ("Incident with no one to handle it: {incident_id}",
               "Grid {grid_code}: a {category} incident ({priority}) was reported and the grid has "
               "no one to handle it now. Please dispatch it: {summary}"),
    },
    "grid_events.incident_escalated": {
        "zh-CN": ("事件已升级：{incident_id}",
                  "网格{grid_code}的{category}事件已超时（{overdue}），升级至第{level}级：{summary}"),
        "en": ("Incident escalated: {incident_id}",
               "Grid {grid_code}: the {category} incident ran out of time ({overdue}) and now "
               "rests with you (level {level}): {summary}"),
    },
    "grid_events.incident_resolved": {
        "zh-CN": ("您反映的问题已处理",
                  "您反映的{category}问题（{incident_id}）已处理：{resolution}。请为本次服务评分（1-5分）。"),
        "en": ("Your report was handled",
               "The {category} problem you reported ({incident_id}) was handled: {resolution}. "
               "Please rate the service from 1 to 5."),
    },
    "grid_events.visit_task_created": {
        "zh-CN": ("新走访任务：{task_id}", "请在{due_on}前走访居民{resident_id}（{kind}）。"),
        "en": ("New visit: {task_id}", "Please visit resident {resident_id} ({kind}) by {due_on}."),
    },
    "grid_events.visit_overdue": {
        "zh-CN": ("走访逾期：{task_id}", "对居民{resident_id}的走访（{kind}）已超过{due_on}，请尽快安排。"),
        "en": ("Visit overdue: {task_id}",
               "The visit to resident {resident_id} ({kind}) was due on {due_on}. Please go soon."),
    },
    "registry.resident_registered": {
        "zh-CN": ("欢迎来到阳光社区",
                  "{name}，您好！您已登记为网格{grid_code}的居民。社区通知将通过此渠道发送给您。"),
        "en": ("Welcome to the community",
               "Hello {name}, you are now registered as a resident of grid {grid_code}. "
               "Community notices will reach you here."),
    },
    "market.violation_recorded": {
        "zh-CN": ("夜市违规通知：{violation_id}",
                  "摊位{stall_id}：{description}（{violation_type}），扣{points}分，罚款{fine_fen}元，"
                  "累计{points_total}分。如有异议请在规定期限内申诉。"),
        "en": ("Night market violation: {violation_id}",
               "Stall {stall_id}: {description} ({violation_type}). {points} points and a fine of "
               "{fine_fen} yuan; {points_total} points in all. You may appeal within the appeal period."),
    },
    "market.vendor_suspended": {
        "zh-CN": ("暂停经营通知",
                  "您的累计扣分已达{points_total}分，暂停经营{nights}晚，{until}起可恢复经营。"),
        "en": ("Trading suspended",
               "With {points_total} points you may not trade for {nights} nights; "
               "you may trade again from {until}."),
    },
    "market.licence_expiring": {
        "zh-CN": ("证照到期提醒",
                  "您的{document}将于{expires_on}到期（剩余{days_left}天），请及时办理续期。"),
        "en": ("Licence expiring", "Your {document} expires on {expires_on} ({days_left} days left). "
                                   "Please renew it in time."),
    },
    "market.fee_charged": {
        "zh-CN": ("摊位费用缴纳通知",
                  "摊位{stall_id}{period}月费用共{amount_fen}元，请于{due_on}前缴纳。"),
        "en": ("Stall fees due",
               "Stall {stall_id}: the fees for {period} come to {amount_fen} yuan, due by {due_on}."),
    },
    "finance.dividend_paid": {
        "zh-CN": ("{year}年度分红已发放",
                  "您的{year}年度股份分红{amount_fen}元已发放（社区级{community_fen}元，{group}{group_fen}元，"
                  "股数{shares}）。"),
        "en": ("Your {year} dividend is paid", "Your {year} dividend of {amount_fen} yuan has been paid "
               "(community {community_fen} yuan, {group} {group_fen} yuan, {shares} shares)."),
    },
    "finance.allowance_paid": {
        "zh-CN": ("{month}高龄津贴已发放", "您{month}的老年人生活补贴{amount_fen}元已发放。"),
        "en": ("Your allowance for {month} is paid", "Your elderly allowance of {amount_fen} yuan for "
               "{month} has been paid."),
    },
    "finance.rent_overdue": {  # to the tenant and to the community office: worded for both
        "zh-CN": ("租金逾期提醒：{invoice_id}", "{unit_id}（租户{tenant_id}）的租金{open_fen}元"
                  "已于{due_on}到期，已逾期{days_overdue}天，请租户尽快缴纳。"),
        "en": ("Rent overdue: {invoice_id}", "The rent for {unit_id} (tenant {tenant_id}), {open_fen} yuan, "
               "was due on {due_on} and is {days_overdue} days overdue. The tenant is asked to pay it soon."),
    },
}

# Messages that do not come from a catalogue event: their variables are declared here.
LOCAL_TEMPLATES = {
    "notifications.digest": {
        "fields": ("name", "open", "overdue", "items"),
        "zh-CN": ("今日待办：{open}项（逾期{overdue}项）", "{name}，早上好。您的待办事项：\n{items}"),
        "en": ("Today: {open} open ({overdue} overdue)", "Good morning {name}. Your open work:\n{items}"),
    },
}

SUBSCRIBED = tuple(TEMPLATES)

# Codes a template may show, by field: what a person reads instead, in their language. A code with
# no name here is shown as it is (an id, a grid code), never a vocabulary a person must decode.
DISPLAY_NAMES = {
    "category": {
        "zh-CN": grid_events.CATEGORIES,
        "en": {"dispute": "dispute", "public_order": "public order", "sanitation": "sanitation",
               "facilities": "facilities/roads/drains", "fire_safety": "fire safety",
               "fraud_prevention": "fraud prevention", "epidemic_prevention": "epidemic prevention",
               "illegal_parking": "illegal parking", "noise": "noise", "market_disorder": "market disorder",
               "other": "other"},
    },
    "priority": {
        "zh-CN": {"low": "低", "normal": "一般", "high": "高", "urgent": "紧急"},
        "en": {"low": "low priority", "normal": "normal priority", "high": "high priority",
               "urgent": "urgent"},
    },
    "kind": {  # visits
        "zh-CN": {"move_in": "新迁入", "difficulty": "困难帮扶", "year_end": "年终走访"},
        "en": {"move_in": "moved in", "difficulty": "in difficulty", "year_end": "year-end visit"},
    },
}


class TemplateError(Exception):
    """A template does not fit its event: raised at start, never at send time."""


def variables(fmt):
    """The root names of the `{fields}` a format string uses."""
    names = set()
    for _, field_name, _, _ in string.Formatter().parse(fmt):
        if field_name is not None:
            root = field_name.split(".", 1)[0].split("[", 1)[0]
            if not root or root.isdigit():
                raise TemplateError(f"positional field {{{field_name}}} in {fmt!r}: name the field")
            names.add(root)
    return names


def check(templates, local_templates=None, subscribed=()):
    """Every problem with a set of templates, as clear sentences (empty: all good)."""
    problems = []
    for event_type, by_language in templates.items():
        try:
            event_spec = events.spec(event_type)
        except events.UnknownEvent:
            problems.append(f"template for {event_type}: no such event in the catalogue")
            continue
        declared = set(event_spec.schema._declared_fields)
        problems += _check_languages(f"{event_type} v{event_spec.version}", by_language, declared)
    for name, spec_ in (local_templates or {}).items():
        problems += _check_languages(name, {k: v for k, v in spec_.items() if k != "fields"},
                                     set(spec_["fields"]))
    for event_type in subscribed:
        if event_type not in templates:
            problems.append(f"{event_type} is subscribed but has no template")
    return problems


def _check_languages(name, by_language, declared):
    problems = []
    for language in LANGUAGES:
        if language not in by_language:
            problems.append(f"template {name}: no {language} text")
    for language, pair in by_language.items():
        if language not in LANGUAGES:
            problems.append(f"template {name}[{language}]: unknown language")
            continue
        for part, fmt in zip(("title", "body"), pair, strict=True):
            try:
                unknown = variables(fmt) - declared
            except (TemplateError, ValueError) as exc:
                problems.append(f"template {name}[{language}] {part}: {exc}")
                continue
            for var in sorted(unknown):
                problems.append(f"template {name}[{language}] {part} uses {{{var}}}, which is not a "
                                f"field of {name} (fields: {', '.join(sorted(declared))})")
    return problems


def _display(value):
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def _yuan(fen):
    sign, (whole, cents) = "-" if fen < 0 else "", divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _shown(key, value, names):
    if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return _yuan(value)  # money travels in fen (integers); people read yuan
    if isinstance(value, str):
        return names.get(key, {}).get(value, _display(value))
    return _display(value)


def render(pair, values, language=None):
    names = {field: by_language.get(language, {}) for field, by_language in DISPLAY_NAMES.items()}
    shown = {k: _shown(k, v, names)
             for k, v in values.items()}
    return tuple(fmt.format(**shown) for fmt in pair)


class Templates:
    """Checked templates; makes the `Message` for an event."""

    def __init__(self, templates, local_templates):
        self.templates = templates
        self.local = local_templates

    def message(self, event):
        """The Message for a received event, or None if it tells nobody anything."""
        who = audience(event.type, event.payload)
        if who is None:
            return None, None
        texts = {lang: render(pair, event.payload, lang) for lang, pair in self.templates[event.type].items()}
        message = Message(event.event_id, event.type, who.topic, who.critical, texts,
                          grid_code=event.payload.get("grid_code"))
        return message, who

    def local_texts(self, name, values_by_language):
        return {lang: render(self.local[name][lang], values_by_language[lang]) for lang in LANGUAGES}


class TemplateBook(DependencyProvider):
    """Checks every template in `setup()`: a broken template stops the service at start."""

    def __init__(self, templates=None, local_templates=None, subscribed=None):
        self.templates = TEMPLATES if templates is None else templates
        self.local_templates = LOCAL_TEMPLATES if local_templates is None else local_templates
        self.subscribed = SUBSCRIBED if subscribed is None else subscribed

    def setup(self):
        problems = check(self.templates, self.local_templates, self.subscribed)
        if problems:
            raise TemplateError(f"{self.container.service_name} cannot start, "
                                f"{len(problems)} template problem(s):\n  " + "\n  ".join(problems))
        self.book = Templates(self.templates, self.local_templates)

    def get_dependency(self, worker_ctx):
        return self.book
