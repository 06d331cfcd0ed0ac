"""A process that verifies DingTalk callbacks with idaas's shared replay store (for tests).

Usage: python -m tests.events.callback_server TOKEN AES_KEY OWNER_KEY; prints its port.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from idaas import create_app
from idaas.dingtalk.crypto import CallbackCrypto, CallbackCryptoError, CallbackVerifier


def main() -> None:
    """Serve POST / until killed."""
    token, aes_key, owner = sys.argv[1:4]
    app = create_app()

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with app.app_context():
            verifier = CallbackVerifier(CallbackCrypto(token, aes_key, owner))
            try:
                event = verifier.open(request.args, request.get_json(force=True))
                response = Response(json.dumps({"event": event}), 200)
            except CallbackCryptoError as error:
                response = Response(json.dumps({"code": error.code}), 403)
        return response(environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
