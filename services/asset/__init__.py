"""The asset service: RMM endpoints -> Rev.io assets, and the Rev.io id written back to RMM.

Rules: `decide.py`; state: `state.py` (fold of `asset:<identifier>`); read models:
`projections.py`; handlers: `handlers.py`; following company links: `follower.py`;
wiring: `app.py`.
"""
