"""Real servers for tests: a throwaway PostgreSQL cluster (shared/recipes/postgresql-throwaway.md).

Locally a missing server skips the tests that need it, with the reason shown; in CI (CI=true)
the same absence fails the run, because CI must have installed it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


TRIAGE = shutil.which("triage", path=str(Path(sys.executable).parent)) or "triage"


def triage_env(**settings: str) -> dict[str, str]:
    """This environment without the developer's own TRIAGE_ settings, plus the given ones: a `triage`
    process started by a test or a benchmark reads only what it was meant to."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")} | settings


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, why_not: Callable[[], str | None], timeout: float = 60.0) -> None:
    """Return once something listens on 127.0.0.1:port. why_not() is asked between tries: a reason
    (the server process died, with its log) ends the wait at once; at the timeout it is the message."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            reason = why_not()
            if reason is not None or time.monotonic() > deadline:
                raise RuntimeError(reason or f"nothing listened on port {port} within {timeout:.0f} s") from None
            time.sleep(0.1)


def imap_login_works(port: int, user: str, password: str, ca_file: Path | None, why_not: Callable[[], str | None],
                     timeout: float = 60.0, log: Callable[[], str] = lambda: "") -> None:
    """Return once an IMAP LOGIN as user succeeds on 127.0.0.1:port (IMAPS when ca_file is given).
    why_not() is asked between tries, as in wait_for_port."""
    import ssl

    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError

    deadline = time.monotonic() + timeout
    while True:
        try:
            context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
            with IMAPClient("127.0.0.1", port=port, ssl=ca_file is not None, ssl_context=context, timeout=10) as imap:
                imap.login(user, password)
            return
        except (IMAPClientError, OSError) as error:
            reason = why_not()
            if reason is not None or time.monotonic() > deadline:
                raise RuntimeError(reason or f"no IMAP LOGIN on port {port} within {timeout:.0f} s ({error!r}):\n"
                                   f"{log()}") from None
            time.sleep(0.05)


def _children(pid: int) -> list[int]:
    """The processes whose parent is pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == str(pid):
                found.append(int(entry.name))
    return found


def _is_dovecot(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().startswith(b"dovecot/")
    except OSError:
        return False


def _wait_gone(pids: list[int], timeout: float, message: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise RuntimeError(message())
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child of ours that exited but was not reaped is gone too
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class PostgresCluster:
    """A throwaway cluster whose server a fault test can restart under a running product."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            unavailable("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bindir = Path(found[-1]).parent
        self.base = Path(tempfile.mkdtemp(prefix="triage-pg-"))
        self.base.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self.port = free_port()
        self.data = self.base / "data"
        subprocess.run(_as_postgres([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                                     "postgres"]), check=True, capture_output=True)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"),
                                     "-w", "-o", options, *args]), check=True, capture_output=True)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """A fast restart: every client connection is cut, as in a failover or a package upgrade."""
        self._ctl("-m", "fast", "restart")

    def remove(self) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                                     "stop"]), capture_output=True)
        time.sleep(0.1)
        shutil.rmtree(self.base, ignore_errors=True)


def empty_database(admin_url: str, name: str) -> str:
    """A new, empty database beside the admin URL's (one a previous run left is dropped first); its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL cluster on loopback; yields the URL of its `postgres` database."""
    external = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


DOVECOT_RESTARTS: dict[int, Callable[[], None]] = {}  # port -> restart, for the fault tests


@contextmanager
def dovecot_server(user: str = "housing@example.org", password: str = "secret-test-password",
                   tls: tuple[Path, Path] | None = None, oauth2_introspection_url: str | None = None) -> Iterator[int]:
    """A Dovecot IMAP server on loopback with one user (shared/recipes/dovecot-loopback.md); yields its port.

    With tls=(certificate, key) it listens for IMAPS only; with an introspection URL it also
    accepts XOAUTH2 and OAUTHBEARER, asking that URL whether a token is active (RFC 7662), as
    Microsoft 365 and Google Workspace tokens are checked.
    """
    dovecot = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if dovecot is None:
        unavailable("Dovecot not found (apt-get install dovecot-imapd)")
    import grp
    import pwd

    base = Path(tempfile.mkdtemp(prefix="triage-dovecot-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        uid, gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
        internal, login = "dovecot", "dovenull"
    else:
        uid, gid = os.getuid(), os.getgid()
        internal = login = pwd.getpwuid(uid).pw_name
    (base / "mail").mkdir()
    (base / "run").mkdir()
    if os.geteuid() == 0:
        os.chown(base / "mail", uid, gid)
    (base / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
    port = free_port()
    ssl_lines = "ssl = no"
    if tls is not None:
        ssl_lines = f"ssl = required\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}"
    oauth2 = ""
    if oauth2_introspection_url is not None:
        (base / "oauth2.conf").write_text(f"introspection_mode = post\nintrospection_url = {oauth2_introspection_url}\n"
                                          "username_attribute = username\nactive_attribute = active\n"
                                          "active_value = true\n")
        oauth2 = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {base}/oauth2.conf
}}"""
    (base / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/run
log_path = {base}/dovecot.log
{ssl_lines}
disable_plaintext_auth = no
auth_mechanisms = plain login{" xoauth2 oauthbearer" if oauth2 else ""}
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = {uid}
{oauth2}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {0 if tls else port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port if tls else 0}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    def log() -> str:
        return (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""

    def start() -> None:
        # Dovecot daemonises and its children inherit our pipes: capture nothing, read its log instead.
        subprocess.run([dovecot, "-c", str(base / "dovecot.conf")], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        # Ready means a LOGIN succeeds, not that the port is open: the port opens before the auth
        # process is up ("disconnected before auth was ready" in its log), and a test that restarts
        # the server must find it whole.
        imap_login_works(port, user, password, tls[0] if tls else None,
                         lambda: f"dovecot did not start:\n{log()}" if not master_alive() else None,
                         timeout=60, log=log)

    def master_alive() -> bool:
        try:
            os.kill(int((base / "run" / "master.pid").read_text().strip()), 0)
            return True
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return False

    def stop() -> None:
        """The master and every process it started. Dovecot 2.3.19 here leaves an established IMAP session
        running after its master has gone (shutdown_clients = yes notwithstanding), so a client was
        never cut off by a "restart"; its sessions are ended as a real restart ends them."""
        pid_file = base / "run" / "master.pid"
        try:
            pid = int(pid_file.read_text().strip())
            children = _children(pid)
            os.kill(pid, 15)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return
        _wait_gone([pid], 60, lambda: f"dovecot (pid {pid}) was still running 60 s after SIGTERM:\n{log()}")
        left = [child for child in children if _is_dovecot(child)]
        for child in left:
            try:
                os.kill(child, 15)  # an imap session answers with "* BYE Server shutting down." and exits
            except ProcessLookupError:
                pass
        _wait_gone(left, 30, lambda: f"dovecot's processes {left} were still running 30 s after SIGTERM")

    def restart() -> None:
        stop()
        start()

    start()
    DOVECOT_RESTARTS[port] = restart
    try:
        yield port
    finally:
        DOVECOT_RESTARTS.pop(port, None)
        stop()
        shutil.rmtree(base, ignore_errors=True)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (shared/recipes/chromium-playwright.md)."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def web_server(app: object) -> Iterator[str]:
    """The app served by a real uvicorn on loopback, in a thread; yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """(certificate, key) for host, made by openssl for one test run."""
    if shutil.which("openssl") is None:
        unavailable("openssl is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}"],
                   check=True, capture_output=True)
    return cert, key
