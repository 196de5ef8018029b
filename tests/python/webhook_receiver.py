"""A webhook receiver that checks every request with the Standard Webhooks reference
library (``standardwebhooks``), as a partner's endpoint would.

Usage: webhook_receiver.py [--tls CERT KEY] SECRET [SECRET ...]
Prints ``listening PORT`` once bound, then one JSON line per request:
``{"id": ..., "partition": ..., "offset": ..., "verified_by": [indexes of the secrets that verify it], "value": ...}``.
A request no secret verifies is answered 401, the others 204. Stops when stdin closes.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

ARGS = sys.argv[1:]
TLS = None
if ARGS[:1] == ["--tls"]:
    TLS, ARGS = (ARGS[1], ARGS[2]), ARGS[3:]
SECRETS = ARGS
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        verified_by = []
        payload = None
        for index, secret in enumerate(SECRETS):
            try:
                payload = Webhook(secret).verify(body, headers)
                verified_by.append(index)
            except Exception:  # a failed verification raises WebhookVerificationError
                pass
        line = {
            "id": headers.get("webhook-id"),
            "partition": int(headers.get("herald-partition", "-1")),
            "offset": int(headers.get("herald-offset", "-1")),
            "verified_by": verified_by,
            "value": payload["data"]["value"] if payload else None,
        }
        with LOCK:
            print(json.dumps(line), flush=True)
        self.send_response(204 if verified_by else 401)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if TLS:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*TLS)
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"listening {server.server_address[1]}", flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
