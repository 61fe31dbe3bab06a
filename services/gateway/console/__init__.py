"""The console (控制台): web pages served by the gateway for operators and staff.

Server-rendered (Jinja2), no build step, no script from outside the machine: charts are SVG
drawn on the server (pygal), live tables refresh by polling a JSON twin of each page.
Strings come from one catalogue per language (strings/zh.json, strings/en.json); Chinese is the
default. Login is the gateway's own (the token rides in an HttpOnly, SameSite=Strict cookie), and
every page reads through the services as the logged-in actor, so it shows only what the role and
grid allow.
"""
