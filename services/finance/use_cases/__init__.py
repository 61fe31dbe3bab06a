"""Finance's use cases: one function per command and per handled event (load, decide with the
domain, one transaction with its events). Split by subject: `ledger`, `property`, `enterprises`,
`distribution`, `residents` (the read model of registry facts), `market`."""
