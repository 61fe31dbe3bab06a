"""grid_events' use cases, one module per area: incidents (report, lifecycle, SLA escalation),
visits (three must-visits), campaigns (door-to-door coverage), windows (service windows, no
veto), field_work (mediation, patrols, CCTV) and read_models (grids and staff, from registry).

Each function takes the service's `db` (shared.mongo.Database) and what it needs (the registry
proxy, the settings, the actor, the time); it loads, asks the domain, and writes in one
`db.run_transaction(work)` with its events.
"""
