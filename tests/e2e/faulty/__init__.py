"""Handlers that wrap the built functions' own, for the fault tests (never packaged).

This package is copied into a copy of a built artifact and one of its modules named as
the worker's handler: the function's code runs unchanged, and a fault is injected only
where a request asks for one. Importing the package alone injects nothing.
"""

# The inference function's faults, named by this request header: model-raises,
# model-hangs, worker-dies, model-slow.
HEADER = "x-inject-fault"
# The log processor's, named by the user agent of a request in the batch.
RAISES = "fault/log-processor-raises"
DIES = "fault/log-processor-dies"
