"""SMTP email delivery with the standard library (`email.message.EmailMessage` and `smtplib`)."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from alerts.channels.base import IDEMPOTENCY_HEADER, Channel, DeliveryError
from alerts.model import RenderedDigest
from core.config import EmailChannel, read_secret


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the delivery key, so a resent digest is recognisably the same mail."""
    domain = sender.rpartition("@")[2] or "countywatch.invalid"
    return f"<{key}@{domain}>"


def build_message(
    rendered: RenderedDigest, config: EmailChannel, *, now: datetime | None = None
) -> EmailMessage:
    """A multipart/alternative mail (text, then HTML) with encoded Chinese subject and sender name."""
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    local, _, domain = config.sender.rpartition("@")
    msg["From"] = Address(display_name=config.sender_name, username=local, domain=domain)
    msg["To"] = ", ".join(config.to)
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = message_id(rendered.idempotency_key, config.sender)
    msg[IDEMPOTENCY_HEADER] = rendered.idempotency_key
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg


class EmailSender(Channel):
    """Email through an SMTP server.

    Keys: host, port (587), security (starttls | ssl | none), username, password_env (the environment
    variable holding the password), sender, sender_name, to (list), timeout. The mail has a text and
    an HTML part; its Message-ID is derived from the delivery, so receivers can drop a duplicate.
    Certificates are verified against the system trust store (or $SSL_CERT_FILE).
    """

    kind = "email"

    def __init__(self, name: str, config: EmailChannel) -> None:
        super().__init__(name)
        self.config = config

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.security == "ssl":
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        if c.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, rendered: RenderedDigest) -> None:
        c = self.config
        msg = build_message(rendered, c)
        where = f"email {c.host}:{c.port}"
        # The envelope takes bare addresses; display names belong in the To header only.
        recipients = [address for _, address in getaddresses(c.to) if address]
        try:
            password = read_secret(c.password_env)
            with self._connect() as smtp:
                if c.username:
                    smtp.login(c.username, password or "")
                smtp.send_message(msg, from_addr=c.sender, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where}: login as {c.username!r} refused ({exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where}: recipients refused: {', '.join(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise DeliveryError(f"{where}: server said {exc.smtp_code} {text}") from None
        except UnicodeEncodeError:
            # smtplib encodes AUTH exchanges as ASCII.
            raise DeliveryError(f"{where}: the SMTP user name and password must be ASCII") from None
        except ssl.SSLError as exc:
            raise DeliveryError(f"{where}: TLS failed: {exc.reason or exc}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {exc or type(exc).__name__}") from None
