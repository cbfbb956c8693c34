"""Handlers that wrap the built functions' own, for the fault tests (never packaged).

Each module is linked into a copy of a built artifact and named as the worker's
handler; the function's code runs unchanged, and a fault is injected only where a
request asks for one.
"""
