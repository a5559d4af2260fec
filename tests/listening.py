"""The TCP addresses a process listens on, read from Linux's /proc, so a test can hold every
listening socket of a real process against the address settings it was started with."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from infra.process import ChildProcess, wait_until

METRICS_ADDR = "127.0.0.2"
"""The metrics address the tests configure: not the default (127.0.0.1) and not the
wildcard, so only a process that reads the setting binds it."""
LISTEN = "0A"
"""The state column of a listening socket in /proc/net/tcp."""


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of each socket ``pid`` listens on; empty once it has exited."""
    try:
        inodes = _socket_inodes(pid)
        tables = [
            (Path(f"/proc/{pid}/net/{name}").read_text(), family)
            for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6))
        ]
    except (FileNotFoundError, ProcessLookupError):
        return set()
    found = set()
    for text, family in tables:
        for line in text.splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN and fields[9] in inodes:
                found.add(_address(fields[1], family))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _address(hex_pair: str, family: int) -> tuple[str, int]:
    """``0100007F:1F90`` -> ("127.0.0.1", 8080): the kernel writes the address as 32-bit
    words in host (little-endian) order and the port in hex."""
    host, port = hex_pair.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, words), int(port, 16)


def listens_on(child: ChildProcess, expected: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """All that ``child`` listens on, once it listens on as many sockets as ``expected``
    (or WaitFailed with its log after a minute)."""
    wait_until(lambda: len(listening(child.pid)) >= len(expected), 60, str(expected), child, 0.2)
    return listening(child.pid)
