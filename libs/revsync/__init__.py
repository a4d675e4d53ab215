"""revsync's shared kernel. Importing it puts Python 3.12's `asyncio.wait_for` in place on
3.11, which loses no cancellation (`revsync.aio`)."""

from revsync.aio import backport_wait_for

backport_wait_for()
