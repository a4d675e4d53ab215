"""Ticket service: manual tickets both ways between RMM and Rev.io.

Rules: `decide.py` (new tickets, fields and status, notes, results). State: `state.py`
(fold of `ticket-link:<origin>-<ticket id>`). Read model: `projection.py` (`ticket_links`,
`ticket_commands`). Wiring: `app.py`.
"""
