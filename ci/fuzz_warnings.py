"""Reads schemathesis' output (stdin) and fails when its warnings name operations that mostly
answered 404 ("Missing test data": unreachable, no link or fixed parameter gives them ids that
exist) or mostly refused the generated data ("Schema validation mismatch": the document's
constraints are not the server's), except the few listed here with the reason they cannot be
helped. schemathesis' own `warnings.fail-on` cannot make such exceptions per operation (it
reads only the project-wide setting), so ci/fuzz.sh uses this instead.
"""
import re
import sys

UNREACHABLE = {
    # Deliveries are made by events sent to a validated url webhook, and validation needs a
    # receiver, which the fuzzed server may not reach (its outbound requests go nowhere).
    "GET /v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}",
    "GET /v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/body",
    "POST /v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
    # Session entries are made by sessions of people in rooms, which no request makes.
    "GET /v1/orgs/{orgId}/sessions/{sessionId}",
    # Muting goes through the Janus SFU, which the fuzzed server does not drive: every call
    # answers 404 media_server_not_found (tests/api/dashboard_browser.rs; the media tests mute
    # through a real Janus).
    "POST /v1/orgs/{orgId}/rooms/{domain}/{name}/peers/{peerId}/mute",
}
MISMATCHED = {
    # Session links are JWTs only the server signs, and no operation returns one.
    "GET /v1/session/{jwt}",
    # A booking must not start in the past, which no schema can state; the coverage phase
    # ignores `body.startTime` of ci/schemathesis.toml and sends past times.
    "POST /v1/orgs/{orgId}/bookings",
    # A url webhook needs `url` and refuses `robotId`, a robot one the other way round; a
    # oneOf stating it would rename the generated clients' NewWebhook model, so generated
    # webhooks are often refused for breaking that rule (422 naming the field).
    "POST /v1/orgs/{orgId}/webhooks",
}
SECTIONS = {"Missing test data": UNREACHABLE, "Schema validation mismatch": MISMATCHED}

found = {name: set() for name in SECTIONS}
section = None
for line in sys.stdin:
    line = line.rstrip("\n")
    header = re.match(r"^(Missing test data|Schema validation mismatch|[A-Z][A-Za-z ]+):", line)
    if header:
        section = header.group(1) if header.group(1) in SECTIONS else None
        continue
    # Within "Missing test data", only operations no link points to are unreachable by the
    # document. Those "reachable via links" that a run's stateful scenarios did not reach, or
    # reached with ids gone by then (a room closed in the same scenario), depend on the run's
    # luck, not on the document: they are not what this gate is about.
    if line.startswith("Reachable via links") or line.startswith("Reached via links"):
        section = None
        continue
    if line.startswith("No links point to") and found.get("Missing test data") is not None:
        section = "Missing test data"
        continue
    if line.startswith("====="):
        section = None
        continue
    item = re.match(r"^\s+- ([A-Z]+ /\S*)$", line)
    if section and item:
        found[section].add(item.group(1))

failed = False
for name, allowed in SECTIONS.items():
    for op in sorted(found[name] - allowed):
        print(f"{name}: {op}", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
