"""A real SMTP peer for the integration tests, on aiosmtpd.

Listens on 127.0.0.1 (port 0 = pick a free one), prints "LISTENING <port>" once ready, and exits
when its stdin closes, so a crashed test run leaves no server behind.

Every accepted message is written to --maildir as N.eml (the raw bytes received) and N.json
(envelope, session facts and the MIME structure as parsed by Python's own email package, an
independent parser). --connections-file counts TCP connections, to observe pooling.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--maildir", required=True)
    p.add_argument("--auth", help="USER:PASS; AUTH becomes mandatory")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--reject-5xx", default="", help="RCPT containing this gets 550")
    p.add_argument("--reject-4xx", default="", help="RCPT containing this gets 451")
    return p.parse_args()


class Recorder:
    def __init__(self, maildir, reject_5xx, reject_4xx):
        self.maildir, self.reject_5xx, self.reject_4xx = maildir, reject_5xx, reject_4xx
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_5xx and self.reject_5xx in address:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if self.reject_4xx and self.reject_4xx in address:
            return "451 4.3.0 <%s>: Temporary failure, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [
            {"content_type": part.get_content_type(), "charset": part.get_content_charset(),
             "transfer_encoding": part.get("Content-Transfer-Encoding"), "body": part.get_content()}
            for part in msg.walk() if not part.is_multipart()
        ]
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
            "auth_user": session.auth_data.login.decode() if session.authenticated else None,
            "headers": {k: str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "parts": parts,
        }
        base = os.path.join(self.maildir, str(self.count))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(raw)
        with open(base + ".json.tmp", "w") as f:
            json.dump(summary, f)
        # Renames are atomic: the test never sees half a file.
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted"


def main():
    args = parse_args()
    context = None
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and \
                auth_data.login.decode() == user and auth_data.password.decode() == password
            # handled=False makes aiosmtpd send "535 5.7.8"; with its default (handled=True) a
            # failed login gets *no reply at all* and the client hangs until its timeout.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

    handler = Recorder(args.maildir, args.reject_5xx, args.reject_4xx)
    connections = [0]

    def factory():
        connections[0] += 1
        with open(os.path.join(args.maildir, "connections"), "w") as f:
            f.write(str(connections[0]))
        return SMTP(
            handler,
            hostname="peer.test",
            tls_context=context if args.tls == "starttls" else None,
            require_starttls=args.tls == "starttls",
            authenticator=authenticator,
            auth_required=bool(args.auth),
            # With implicit TLS aiosmtpd does not know the socket is encrypted.
            auth_require_tls=args.tls == "starttls",
        )

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        factory, host="127.0.0.1", port=args.port,
        ssl=context if args.tls == "implicit" else None))
    port = server.sockets[0].getsockname()[1]
    print("LISTENING %d" % port, flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    loop.run_forever()


if __name__ == "__main__":
    main()
