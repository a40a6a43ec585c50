#!/usr/bin/env python3
"""An SMTP sink for bench/faults.sh (PyPI aiosmtpd): accepts every message on a loopback
port and appends one line per message to a log file:

    <unix time> <sha256 of the recipients and the text/plain body> <recipients>

The digest leaves out what differs between two sends of one outbox job (Message-ID,
Date, MIME boundaries), so a mail delivered twice shows as a repeated digest. The file
is appended to and flushed per message: the sink can be stopped and started again on the
same file.

    python3 bench/smtp_sink.py PORT LOGFILE
"""
import asyncio
import email
import email.policy
import hashlib
import signal
import sys
import time

from aiosmtpd.smtp import SMTP

PORT = int(sys.argv[1])
LOG = sys.argv[2]


def plain_text(raw: bytes) -> bytes:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return raw
    return part.get_content().encode()


class Sink:
    def __init__(self, log):
        self.log = log

    async def handle_DATA(self, server, session, envelope):
        recipients = ",".join(sorted(envelope.rcpt_tos))
        digest = hashlib.sha256(recipients.encode() + b"\0" + plain_text(envelope.content))
        self.log.write(f"{time.time():.3f} {digest.hexdigest()} {recipients}\n")
        self.log.flush()
        return "250 OK"


async def main():
    log = open(LOG, "a", encoding="utf-8")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Sink(log), hostname="sink.invalid"), "127.0.0.1", PORT
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    log.close()


if __name__ == "__main__":
    asyncio.run(main())
