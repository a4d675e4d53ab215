"""What both connectors share about talking to a vendor: errors, limits, retries, counting."""

from revsync.vendor.errors import VendorError, VendorErrorKind
from revsync.vendor.http import VendorHttp
from revsync.vendor.limiter import RateLimit, SharedRateLimiter

__all__ = ["RateLimit", "SharedRateLimiter", "VendorError", "VendorErrorKind", "VendorHttp"]
