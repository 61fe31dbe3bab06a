"""Generate the event table (docs/events.md) from the catalogue and the services' handlers.

    python -m shared.events.docs > docs/events.md     regenerate
    python -m shared.events.docs --check              fail if docs/events.md is stale

Consumers are found, not declared: every `@event_handler` in `services/*/service.py`.
"""

import importlib
import inspect
import sys
from pathlib import Path

from shared.events import all_specs

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "events.md"


def find_consumers():
    from shared.handlers import ReliableEventHandler

    consumers = {}
    for service_file in sorted(ROOT.glob("services/*/service.py")):
        module = importlib.import_module(f"services.{service_file.parent.name}.service")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not isinstance(getattr(cls, "name", None), str):
                continue
            for method_name, method in inspect.getmembers(cls, inspect.isfunction):
                for entrypoint in getattr(method, "nameko_entrypoints", ()):
                    if isinstance(entrypoint, ReliableEventHandler):
                        key = f"{entrypoint.source_service}.{entrypoint.event_type}"
                        consumers.setdefault(key, []).append(f"{cls.name}.{method_name}")
    return consumers


def render():
    consumers = find_consumers()
    lines = [
        "# Event catalogue",
        "",
        "Generated from `shared/events/` and the services' `@event_handler`s by",
        "`make docs`; `make test` fails when this file is stale. Exchange: `<producer>.events`,",
        "routing key: the fact's name; queue per consumer: `evt-<producer>-<fact>--<service>.<method>`.",
        "",
        "| event | v | producer | consumers | what it says | payload |",
        "|---|---|---|---|---|---|",
    ]
    for spec in all_specs():
        fields = ", ".join(
            f"{name}{'' if field.required else '?'}" for name, field in spec.schema._declared_fields.items()
        )
        handlers = "<br>".join(sorted(consumers.get(spec.type, []))) or "—"
        lines.append(f"| `{spec.type}` | {spec.version} | {spec.source} | {handlers} | "
                     f"{spec.description} | {fields} |")
    return "\n".join(lines) + "\n"


def main(argv, doc=DOC, render=render):
    """Print the generated document, or with `--check` fail if `doc` differs from it (also the
    main of shared/access_docs.py)."""
    text = render()
    if "--check" in argv:
        if not doc.exists() or doc.read_text(encoding="utf-8") != text:
            print(f"docs/{doc.name} is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
