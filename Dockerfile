# One image for every part of Plutomi on K3S; the command picks what runs:
#   gateway --port 8080 --workers 2       the HTTP API
#   bridge --consumer C --probe-port 8081 one consumer tier (C, C-retry, meta, super-meta)
#   relay --probe-port 8081               the outbox relay
#   ses poll --probe-port 8081            SES feedback from its SQS queue into consumers.ses_feedback
#   migrate                               indexes, streams and consumers (a Job, before each deploy)
#   job FUNCTION --event FILE|-           any handler once (CronJobs: events/ is in /app/events)
# Build from the repository's root: docker build -t plutomi .
# Python 3.13, as the Lambda functions run (the code also runs on 3.11).
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app

# The third-party dependencies, in their own layer: rebuilt only when requirements-runtime.txt
# changes (the embedded services, test and lint tools of requirements.txt stay out of the image).
COPY requirements-runtime.txt ./
RUN pip install --no-cache-dir -r requirements-runtime.txt

# The code: the plutomi package exactly as the Lambda layer ships it, the handler functions, and the
# sample events the CronJobs pass to `plutomi job`. Installed (not editable, compiled to bytecode by
# pip, as the root filesystem is read-only at run time) with its `plutomi` command.
COPY pyproject.toml ./
COPY layers/plutomi/python/plutomi/ layers/plutomi/python/plutomi/
COPY functions/ functions/
COPY events/ events/
RUN pip install --no-cache-dir --no-deps . && rm -rf build ./*.egg-info

# Not root: a user of its own with a fixed numeric id, so Kubernetes can check runAsNonRoot.
RUN groupadd --system --gid 10001 plutomi \
    && useradd --system --uid 10001 --gid plutomi --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin plutomi
USER 10001:10001

EXPOSE 8080 8081
# No HEALTHCHECK: Kubernetes ignores it. The health checks are the pods' probes (k8s/generate.py): the
# gateway's GET /health, and GET /healthz (ready) and /livez (alive) on the workers' --probe-port;
# what answers, and where, depends on the command the pod runs, which a HEALTHCHECK cannot know.
ENTRYPOINT ["plutomi"]
CMD ["gateway", "--port", "8080"]
