"""The console: the REST API, the server-rendered web UI and the `revsync` CLI.

`python -m services.console` serves both on `CONSOLE_PORT` (8080) and runs the console's
consumers (sync-run progress: `seen` changes and listing results).
"""
