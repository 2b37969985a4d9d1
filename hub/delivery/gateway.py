"""Text messages and calls through the department's HTTP messaging gateway.

``POST <HUB_SMS_GATEWAY_URL>`` with JSON ``{"to", "channel": "sms"|"voice", "message", "reference"}``
and an ``Idempotency-Key`` header that is the same on every attempt of one notification, so a
gateway that honours it sends once even when the hub retries after a lost answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from hub.delivery import Outbound, Sent

#: Gateway answers that mean "try again later" although they are 4xx.
_TRANSIENT_4XX = {408, 409, 425, 429}


@dataclass(slots=True)
class GatewaySender:
    url: str | None
    token: str | None = None
    timeout_s: float = 10.0
    client: httpx.AsyncClient | None = None

    @property
    def configured(self) -> bool:
        """Whether a gateway URL is set (HUB_SMS_GATEWAY_URL)."""
        return bool(self.url)

    async def send(self, message: Outbound) -> Sent:
        if not self.url:
            return Sent.retry("no messaging gateway is configured (set HUB_SMS_GATEWAY_URL)")
        headers = {"Idempotency-Key": message.idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = {
            "to": message.destination,
            "channel": "voice" if message.channel == "phone" else "sms",
            "message": message.body,
            "reference": message.idempotency_key,
        }
        client = self.client or httpx.AsyncClient()
        try:
            response = await client.post(self.url, json=payload, headers=headers, timeout=self.timeout_s)
        except httpx.TimeoutException:
            return Sent.retry(f"the messaging gateway did not answer within {self.timeout_s:g}s")
        except httpx.HTTPError as exc:
            return Sent.retry(f"the messaging gateway is unreachable ({type(exc).__name__})")
        finally:
            if self.client is None:
                await client.aclose()
        status = response.status_code
        said = " ".join(response.text.split())[:200]
        if 200 <= status < 300:
            return Sent.delivered(f"accepted by the messaging gateway (HTTP {status}) {said}".strip())
        detail = f"the messaging gateway answered HTTP {status}: {said}".strip()
        if 400 <= status < 500 and status not in _TRANSIENT_4XX:
            return Sent.refused(detail)
        return Sent.retry(detail)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
