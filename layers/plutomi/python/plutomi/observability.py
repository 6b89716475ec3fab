"""One structured JSON logger for the whole process (Powertools Logger)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "plutomi")
logger = Logger(service=os.environ["POWERTOOLS_SERVICE_NAME"])
# The gateway and the bridge log from their own threads while handlers run; a separate logger keeps
# a handler's Lambda context keys (appended to `logger`) out of their access and delivery lines.
runtime_logger = Logger(service=f"{os.environ['POWERTOOLS_SERVICE_NAME']}-runtime")
