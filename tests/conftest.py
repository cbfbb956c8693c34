"""The functions run with the environment template.yaml gives them."""

from __future__ import annotations

import os

from emulator.template import function_environment

# Set before any test imports the function code, which reads it at import (as on Lambda).
os.environ.update(function_environment("InferenceFunction"))
os.environ.update(function_environment("LogProcessorFunction"))
# Powertools' documented test setting: no X-Ray daemon here.
os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"
