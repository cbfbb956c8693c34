"""Golden-input checks of the served models: the scheduled canary (``handler``), which calls
the public API, and the deployments' pre-traffic hook (``pre_traffic``), which invokes a new
version of the inference function directly. Both check the same golden cases the same way."""
