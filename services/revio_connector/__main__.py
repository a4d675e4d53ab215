"""`python -m services.revio_connector`: run the connector until SIGTERM or SIGINT."""

import asyncio
import gc
import signal

from prometheus_client import REGISTRY
from revsync.logs import configure_logging
from revsync.telemetry import setup_telemetry

from services.revio_connector.app import SERVICE, Connector
from services.revio_connector.settings import RevioConnectorSettings


def tune_gc() -> None:
    """A full listing holds tens of thousands of records at once: with CPython's default
    thresholds the cyclic GC then rescans everything every few hundred ms (pauses of up to
    a second were measured), leaving the limit's slots unused. Move what start-up built out
    of its reach, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


async def main() -> None:
    settings = RevioConnectorSettings()
    configure_logging(SERVICE, settings.log_level)
    setup_telemetry(SERVICE, settings.otel_exporter_otlp_endpoint)
    connector = Connector(settings, metrics=REGISTRY)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await connector.start()
    tune_gc()
    try:
        await stop.wait()
    finally:
        await connector.stop()


if __name__ == "__main__":
    asyncio.run(main())
