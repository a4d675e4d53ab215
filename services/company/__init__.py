"""The company service: Rev.io customer <-> RMM company links, creation, field and site sync.

Rules: `decide.py` (with `matching.py`, `naming.py`, `fields.py`, `reconcile.py`); state:
`state.py` (folds of `company-link:*` and `rmm-company:*`); read models: `projections.py`;
message handlers: `handlers.py`; sync-run matching: `runs.py`; manual operations for the
console: `manual.py`; wiring: `app.py`.
"""
