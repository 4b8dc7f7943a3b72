"""An integration's first steps, through the Python client generated from openapi/openapi.json.

    python ci/python_client_flow.py BASE_URL API_KEY API_SECRET

Every call to meetplane goes through the generated package `meetplane_client` (no raw HTTP):
token by client credentials, the org from GET /v1, the domain's webhook key, a url webhook
validated against a receiver run here, a room, the room list, a booking, and the webhook's
delivery log showing the room's events delivered. The generated models parse every answer,
so a response that strays from the document fails here too. Exits non-zero on any failure.

The server must allow loopback webhook targets (MEETPLANE_ALLOW_PRIVATE_TARGETS=true): the
receiver listens on 127.0.0.1.
"""

import base64
import datetime
import hashlib
import hmac
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

from meetplane_client import AuthenticatedClient
from meetplane_client.api.auth import issue_token
from meetplane_client.api.bookings import create_booking, get_booking
from meetplane_client.api.domains import get_domain
from meetplane_client.api.organisations import get_root
from meetplane_client.api.rooms import create_room, list_rooms
from meetplane_client.api.webhooks import (
    create_webhook,
    get_delivery_body as delivery_body,
    list_deliveries,
    validate_webhook,
)
from meetplane_client.models import (
    HalBooking,
    HalCreatedRoom,
    HalDomain,
    HalPageDelivery,
    HalPageRoom,
    HalRootContent,
    HalValidationResult,
    HalWebhook,
    MeetingOptionsInput,
    NewBookingInput,
    NewRoom,
    NewWebhook,
    NewWebhookType,
    TokenBody,
    TokenForm,
    WebhookEventRoomCreatedEvent,
)
from meetplane_client.types import Response

DOMAIN = "localhost"


def step(text):
    print(f"python client flow: {text}", flush=True)


def expect(resp: Response, status: int, model):
    """The answer has this status and parsed into this generated model."""
    assert resp.status_code == status, (
        f"expected {status}, got {int(resp.status_code)}: {resp.content.decode(errors='replace')}"
    )
    assert isinstance(resp.parsed, model), f"expected a {model.__name__}, got {resp.parsed!r}"
    return resp.parsed


class Receiver(BaseHTTPRequestHandler):
    """Answers the validation handshake with the domain's webhook key; records deliveries."""

    key = b""
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = json.loads(body)
        if message.get("event") == "validation":
            answer = hmac.new(self.key, message["signThis"].encode(), hashlib.sha256).hexdigest()
        else:
            Receiver.received.append(message)
            answer = ""
        self.send_response(200)
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args):
        pass


def main(base_url: str, api_key: str, api_secret: str) -> None:
    step("token by client credentials (HTTP Basic api_key:secret)")
    basic = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
    token_client = AuthenticatedClient(base_url=base_url, token=basic, prefix="Basic")
    token = expect(
        issue_token.sync_detailed(
            client=token_client, body=TokenForm(grant_type="client_credentials")
        ),
        200,
        TokenBody,
    )
    assert token.token_type.lower() == "bearer", token.token_type
    assert token.expires_in > 0 and token.access_token and token.refresh_token
    api = AuthenticatedClient(base_url=base_url, token=token.access_token, timeout=30.0)

    root = expect(get_root.sync_detailed(client=api), 200, HalRootContent).content
    org = root.org_id
    assert root.active, "the client is not active"
    step(f"organisation {org}")

    domain = expect(get_domain.sync_detailed(org, DOMAIN, client=api), 200, HalDomain).content
    assert isinstance(domain.webhook_key, str) and domain.webhook_key, "no webhook key"
    Receiver.key = domain.webhook_key.encode()

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        step(f"url webhook to {hook_url}, validated by the handshake")
        webhook = expect(
            create_webhook.sync_detailed(
                org, client=api, body=NewWebhook(domain=DOMAIN, type_=NewWebhookType.URL, url=hook_url)
            ),
            201,
            HalWebhook,
        ).content
        assert webhook.url == hook_url and webhook.type_ == "url", webhook
        result = expect(
            validate_webhook.sync_detailed(org, webhook.webhook_id, client=api),
            200,
            HalValidationResult,
        ).content
        assert result.validated, f"validation failed: {result.reason!r}"

        room_name = f"py-{uuid.uuid4().hex[:8]}"
        step(f"room {DOMAIN}/{room_name} with a password and a host key")
        created = expect(
            create_room.sync_detailed(
                org,
                client=api,
                body=NewRoom(domain=DOMAIN, name=room_name, key="letmein", add_host_key=True),
            ),
            201,
            HalCreatedRoom,
        ).content
        assert created.room.name == room_name and created.room.domain == DOMAIN, created
        assert created.room.has_host_key and isinstance(created.host_key, str), created

        rooms = expect(
            list_rooms.sync_detailed(org, client=api, domain=DOMAIN, count=500), 200, HalPageRoom
        ).content
        listed = [r for r in rooms if r.name == room_name]
        assert len(listed) == 1, f"{room_name} not listed once: {[r.name for r in rooms]}"
        assert listed[0].peers == [] and listed[0].seq >= 1, listed[0]

        start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).replace(
            microsecond=0
        )
        step(f"booking of {DOMAIN}/{room_name}-booked at {start.isoformat()}")
        booking = expect(
            create_booking.sync_detailed(
                org,
                client=api,
                body=NewBookingInput(
                    domain=DOMAIN,
                    room_name=f"{room_name}-booked",
                    start_time=start,
                    meeting_options=MeetingOptionsInput(duration=45, add_host_key=True),
                ),
            ),
            201,
            HalBooking,
        ).content
        assert booking.state == "scheduled", booking.state
        assert booking.start_time == start, (booking.start_time, start)
        assert booking.end_time - booking.start_time == datetime.timedelta(minutes=45)
        again = expect(
            get_booking.sync_detailed(org, booking.booking_id, client=api), 200, HalBooking
        ).content
        assert again.booking_id == booking.booking_id and again.room_name == booking.room_name

        step("the webhook's delivery log shows roomCreated delivered")
        deadline = time.monotonic() + 30
        delivered = None
        while time.monotonic() < deadline:
            page = expect(
                list_deliveries.sync_detailed(org, webhook.webhook_id, client=api),
                200,
                HalPageDelivery,
            ).content
            delivered = next(
                (d for d in page if d.event == "roomCreated" and d.room == room_name), None
            )
            if delivered is not None and delivered.status == "delivered":
                break
            time.sleep(0.2)
        assert delivered is not None, "no roomCreated delivery was logged"
        assert delivered.status == "delivered", f"delivery not delivered: {delivered!r}"
        assert delivered.attempts >= 1 and delivered.last_status_code == 200, delivered
        assert delivered.webhook_id == webhook.webhook_id
        seen = [m for m in Receiver.received if m.get("eventId") == str(delivered.event_id)]
        assert seen, f"the receiver never got event {delivered.event_id}"
        assert seen[0]["event"] == "roomCreated" and seen[0]["room"] == room_name, seen[0]

        body = delivery_body.sync_detailed(
            org, webhook.webhook_id, delivered.delivery_id, client=api
        )
        assert body.status_code == 200, body.content
        assert json.loads(body.content) == seen[0], "the logged body differs from what was sent"
        event = body.parsed
        assert isinstance(event, WebhookEventRoomCreatedEvent), f"body parsed as {event!r}"
        assert str(event.event_id) == seen[0]["eventId"] and event.seq == seen[0]["seq"], event
        assert event.payload.room.name == room_name and event.room == room_name, event
        sent_at = datetime.datetime.fromisoformat(seen[0]["occurredAt"])
        assert event.occurred_at == sent_at, (event.occurred_at, sent_at)
    finally:
        server.shutdown()
    step("all steps passed")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:])
    except AssertionError as e:
        print(f"python client flow FAILED: {e}", file=sys.stderr)
        sys.exit(1)
