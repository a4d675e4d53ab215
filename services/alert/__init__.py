"""Alert service: RMM alerts become Rev.io tickets (threshold, de-duplication, auto-close).

Rules: `decide.py`. State: `state.py` (fold of `alert:<endpoint>:<condition>`). Read model:
`projection.py` (`alert_tickets`, `alert_commands`). Wiring: `app.py`.
"""
