"""A meetplane webhook receiver in a few lines (Python standard library + `standardwebhooks`).

    pip install standardwebhooks
    WEBHOOK_KEY=<webhookKey of the domain> python3 examples/webhook_receiver.py 9000

It answers the validation handshake (hex HMAC-SHA256 of signThis under the domain's webhook
key) and verifies every delivery with the official Standard Webhooks library, whose secret is
the domain's `signingSecret` ("whsec_" + base64 of the webhook key).
"""
import base64, hashlib, hmac, json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook

KEY = os.environ["WEBHOOK_KEY"]
verifier = Webhook("whsec_" + base64.b64encode(KEY.encode()).decode())


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = json.loads(body)
        if message.get("event") == "validation":
            answer = hmac.new(KEY.encode(), message["signThis"].encode(), hashlib.sha256).hexdigest()
        else:
            event = verifier.verify(body, dict(self.headers))  # raises if forged or stale
            print(event["event"], event["domain"], event["room"], "seq", event["seq"], flush=True)
            answer = ""
        self.send_response(200)
        self.end_headers()
        self.wfile.write(answer.encode())


HTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
