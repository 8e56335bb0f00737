"""IMAP ingest rate: N messages appended to a throwaway Dovecot mailbox, then read by the real poller
into SQLite. Checks that nothing is lost or stored twice. Needs Debian's dovecot-imapd.

Usage: python bench/imap.py [--json] [-n 1000]. Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from common import delivery
from imapclient import IMAPClient

from bot.context import Context
from bot.channels import mailbox_poller
from bot.settings import Settings
from intake.email.imap import MailboxConfig
from tests.servers import dovecot_server

USER, PASSWORD = "housing@example.org", "bench-password"


def letter(n: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"resident{n % 500}@example.net"
    message["To"] = USER
    message["Subject"] = f"Repair {n}"
    message["Message-ID"] = f"<imap-bench-{n}@example.net>"
    message.set_content("My bathroom extractor fan has stopped working. Please can someone come.\n" * 5)
    return message.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="triage-imap-bench-"))
    try:
        with dovecot_server(USER, PASSWORD) as port:
            with IMAPClient("127.0.0.1", port=port, ssl=False) as imap:
                imap.login(USER, PASSWORD)
                for n in range(args.n):
                    imap.append("INBOX", letter(n))
            context = Context(Settings(_env_file=None, data_dir=data_dir))
            context.migrate()

            poller = mailbox_poller(context, MailboxConfig(host="127.0.0.1", port=port, username=USER,
                                                           password=PASSWORD, tls=False))
            with poller.connect() as imap:
                started = time.perf_counter()
                handled = poller.poll_once(imap)
                seconds = time.perf_counter() - started
            counts = delivery(context, args.n)
            context.engine.dispose()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result = {"messages": args.n, "handled": handled, "seconds": round(seconds, 2),
              "messages_per_second": round(args.n / seconds, 1), "database": "sqlite", **counts}
    if not args.json:
        print(f"{result['messages_per_second']} messages/s, lost {result['lost']}, duplicated {result['duplicated']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
