"""Local emulator of the monitored endpoint (development only)."""
