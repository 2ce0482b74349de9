"""Socket.IO packets whose JSON does not parse are answered, not dropped.

python-socketio logs and drops an event packet whose payload is not valid JSON, so a client
waiting for the ack hears nothing. The ack id comes before the payload in the packet, so it is
known even then: this packet class turns such an event into ``MALFORMED_EVENT`` with that id,
and the handler of that event acks ``invalid_payload``.
"""

from __future__ import annotations

from typing import Any

from socketio import packet

from handlers.socket_events import MALFORMED_EVENT


class TolerantPacket(packet.Packet):  # type: ignore[misc]
    def decode(self, encoded_packet: Any) -> int:
        try:
            count: int = super().decode(encoded_packet)
            return count
        except ValueError:
            if self.packet_type != packet.EVENT:
                raise
            self.data = [MALFORMED_EVENT]
            return 0
