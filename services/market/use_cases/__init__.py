"""The market's use cases: one function per command and per handled event. Each loads what it
needs, asks the domain, and writes state and events in one transaction (rerun on write conflicts).

vendors.py (vendors, licences, the registry read model), stalls.py (applications, the lottery,
renewals, releases), rules.py (rule books and their adoption), nights.py (nights, attendance,
footfall, takings, figures), violations.py (inspections, violations, escalation, appeals),
fees.py (monthly fees, payments).
"""
