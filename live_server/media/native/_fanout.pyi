from typing import Any

SENT: int
NOT_CONNECTED: int
WOULD_BLOCK: int
PROTECT_FAILED: int
HISTORY_SIZE: int

class SendState:
    seq: int
    ts_origin: int
    pid_shift: int
    gso: bool
    @property
    def packets_sent(self) -> int: ...
    @property
    def gso_sends(self) -> int: ...
    @property
    def fd(self) -> int: ...
    def __init__(
        self,
        header: bytes,
        abs_at: int,
        payload_type: int,
        seq: int,
        ts_origin: int,
        session: Any,
        srtp: int,
        sender: Any,
        dtls: Any,
    ) -> None: ...
    def set_destination(self, fd: int, host: str, port: int) -> None: ...
    def entry(self, seq: int) -> tuple[int, int, int, bytes] | None: ...
    def close(self) -> None: ...

def send_frame(
    payloads: list[bytes], timestamp: int, ntp: int, states: list[SendState]
) -> bytes: ...
def configure(protect_address: int) -> None: ...
