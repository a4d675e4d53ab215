"""free_port: the ports servers in tests and `make run` are started on."""

from __future__ import annotations

import socket

from revsync import devservers
from revsync.devservers import free_port


def test_a_free_port_is_below_the_range_outgoing_connections_take_their_source_port_from() -> None:
    ports = [free_port() for _ in range(50)]
    assert all(10_000 <= port < devservers._ephemeral_low() for port in ports)


def test_a_port_is_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)


def test_a_port_something_listens_on_is_not_bindable_and_a_handed_out_one_is() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        taken = listener.getsockname()[1]
        listener.listen()
        assert not devservers._bindable(taken)
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", free_port()))
