"""What the development code shares (the emulator, benchmarks, tests): paths, events, a client.

Never packaged into a function; nothing here imports from ``tests/``.
"""
