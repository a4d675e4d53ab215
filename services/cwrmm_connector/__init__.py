"""The ConnectWise RMM connector: the only code that talks HTTP to ConnectWise RMM.

- `client/`: OAuth token shared by every replica, per-bucket rate limits, paging, retries;
- `translate.py`: vendor JSON -> normalized contracts (vendor names never leave this package);
- `watchers.py` + `observe.py` + `reconcile.py`: vendor -> `change.<tenant>.rmm.*`;
- `handlers/`: `cmd.<tenant>.rmm.*` -> vendor -> `result.<tenant>.rmm.*`, at most once.
"""
