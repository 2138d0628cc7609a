"""A real IMAP server for the tests: Debian's Dovecot with a throwaway configuration, on a free port
of the loopback, serving Maildirs the test fills (every login's password is `secret`)."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Dovecot:
    def __init__(self) -> None:
        # Not under pytest's private temporary folder: Dovecot's own users must reach the mail.
        self.root = Path(tempfile.mkdtemp(prefix="carnet-imap-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        if os.geteuid() == 0:
            mail_user, internal, login = "dovecot", "dovecot", "dovenull"
        else:
            mail_user = internal = login = pwd.getpwuid(os.geteuid()).pw_name
        self.mail_user = mail_user
        (self.root / "home").mkdir()
        (self.root / "dovecot.conf").write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={self.root}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        )

    def start(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.root / "dovecot.conf")], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)  # the server is starting; there is nothing to wait on
        raise RuntimeError(f"Dovecot did not start: {(self.root / 'dovecot.log').read_text()[-2000:]}")

    def deliver(self, user: str, name: str, raw: bytes) -> None:
        """Put a message in the user's inbox, as a delivery agent would."""
        maildir = self.root / "home" / user / "Maildir"
        for folder in ("new", "cur", "tmp"):
            (maildir / folder).mkdir(parents=True, exist_ok=True)
        (maildir / "new" / name).write_bytes(raw)
        if os.geteuid() == 0:
            subprocess.run(
                ["chown", "-R", f"{self.mail_user}:{self.mail_user}", str(self.root / "home")], check=True
            )

    def url(self, user: str) -> str:
        return f"imap://{user}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        shutil.rmtree(self.root, ignore_errors=True)
