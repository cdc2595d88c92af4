class InvalidEvent(ValueError):
    """Raised by a handler for an event that decodes but can never be applied (a quantity of 0
    from a producer without our checks, say). The worker dead-letters its record at once,
    instead of retrying what cannot succeed."""
