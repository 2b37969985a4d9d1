"""Letters: delivering one means putting it in the unit's print queue.

The queue is the set of ``letter`` notifications in status ``delivered``: their destination is the
registrant's postal address and their text is rebuilt from the event, so nothing is kept twice.
Victim services reads it with ``notifications(status: [DELIVERED])`` (channel LETTER).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.delivery import Outbound, Sent


@dataclass(frozen=True, slots=True)
class PrintQueue:
    timeout_s: float = 1.0
    #: The print queue is in the store: always there.
    configured: bool = True

    async def send(self, message: Outbound) -> Sent:
        return Sent.delivered(f"queued for printing, to {message.destination}")
