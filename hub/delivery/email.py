"""Email through an SMTP server (aiosmtplib), with the notification's id as Message-ID."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

import aiosmtplib

from hub.delivery import Outbound, Sent

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True, slots=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    security: Security = "starttls"
    username: str | None = None
    password: str | None = None
    timeout_s: float = 20.0

    @property
    def configured(self) -> bool:
        """Whether an SMTP host is set (HUB_SMTP_HOST)."""
        return bool(self.host.strip())

    def compose(self, message: Outbound) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.destination
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        # A resend after a crash carries the same Message-ID: mail systems and people can tell.
        mail["Message-ID"] = f"<{message.idempotency_key}@victim-notification.hub>"
        mail["X-Hub-Notification"] = str(message.notification_id)
        mail.set_content(message.body)
        return mail

    async def send(self, message: Outbound) -> Sent:
        where = f"{self.host}:{self.port}"
        try:
            _, reply = await aiosmtplib.send(
                self.compose(message),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            return _by_code(
                refusal.code, f"the mail server refused the recipient: {refusal.code} {refusal.message}"
            )
        except aiosmtplib.SMTPSenderRefused as exc:
            # Our own From address: a configuration problem that fixing HUB_SMTP_FROM cures.
            return Sent.retry(f"the mail server refused the sender (HUB_SMTP_FROM): {exc.code} {exc.message}")
        except aiosmtplib.SMTPAuthenticationError as exc:
            return Sent.retry(f"the mail server refused the login (HUB_SMTP_USERNAME): {exc.code}")
        except aiosmtplib.SMTPResponseException as exc:
            return _by_code(exc.code, f"the mail server answered {exc.code} {exc.message}")
        except (aiosmtplib.SMTPTimeoutError, TimeoutError):
            return Sent.retry(f"the mail server at {where} did not answer within {self.timeout_s:g}s")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Sent.retry(f"the mail server at {where} is unreachable ({_reason(exc)})")
        return Sent.delivered(f"accepted by the mail server at {where}: {_short(reply)}")


def _by_code(code: int, detail: str) -> Sent:
    # SMTP: 4xx is "try again later", 5xx is final.
    return Sent.refused(detail) if 500 <= code < 600 else Sent.retry(detail)


def _short(text: str) -> str:
    return " ".join(text.split())[:200]


def _reason(exc: BaseException) -> str:
    return _short(str(exc) or type(exc).__name__) or type(exc).__name__
