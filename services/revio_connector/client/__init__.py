"""Rev.io billing REST API v1: the only place that knows its paths and field names."""
