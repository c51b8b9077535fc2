"""office360: contactless check-in and queue management for public-service offices."""

__version__ = "0.1.0"
