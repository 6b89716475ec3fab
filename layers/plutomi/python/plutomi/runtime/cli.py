"""The `plutomi` command: run Plutomi locally, migrate, read local mail, invoke handlers like SAM."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _read_event(source: str) -> dict[str, Any]:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    try:
        event = json.loads(text)
    except ValueError as error:
        raise SystemExit(f"plutomi: the event in {source} is not JSON: {error}") from error
    if not isinstance(event, dict):
        raise SystemExit(f"plutomi: the event in {source} must be a JSON object")
    return event


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no positive number of seconds")
    return value


def _name_value(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not name=value")
    return name, value


def _add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    """--probe-port and --stall-after, for the long-running workers Kubernetes probes."""
    from plutomi.runtime.probe import STALL_AFTER_SECONDS

    parser.add_argument(
        "--probe-port",
        type=int,
        help="serve GET /healthz (readiness: connected) and GET /livez (liveness: not stalled) here",
    )
    parser.add_argument(
        "--stall-after",
        type=_seconds,
        default=STALL_AFTER_SECONDS,
        metavar="SECONDS",
        help=f"/livez fails once the work loop has not come round for this long ({STALL_AFTER_SECONDS:g})",
    )


def cmd_dev(args: argparse.Namespace) -> int:
    from plutomi.runtime.dev import Parts, run_dev

    try:
        parts = Parts.everything() if args.only is None else Parts.named(args.only)
    except ValueError as error:
        raise SystemExit(f"plutomi dev: {error}") from error
    try:
        run_dev(Path(args.data_dir), args.host, args.port, parts)
    except KeyboardInterrupt:  # Ctrl-C while starting: the services are stopped already
        print("plutomi dev: interrupted", file=sys.stderr)
        return 130
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    from plutomi.runtime.gateway import serve

    serve(args.host, args.port, workers=args.workers)
    return 0


def cmd_bridge(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from plutomi.config import get_settings
    from plutomi.runtime.bridge import Bridge, Target
    from plutomi.topology import tier_named

    try:
        tier = tier_named(args.consumer)
    except LookupError as error:
        raise SystemExit(f"plutomi: {error}") from error
    target: Target | None = None
    if args.target == "lambda":
        from plutomi.runtime.lambda_target import LambdaTarget

        target = LambdaTarget(args.function_name or f"plutomi-{(tier.function or '').replace('.', '-')}")
    bridge = Bridge(
        tier,
        get_settings().nats_url,
        target=target,
        concurrency=args.concurrency,
        report_every_seconds=args.report_every,
        probe_port=args.probe_port,
        probe_host="0.0.0.0",  # noqa: S104 - the kubelet probes the pod's address
        stall_after_seconds=args.stall_after,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, bridge.stop)
        await bridge.run()

    asyncio.run(main())
    return 0


def cmd_relay(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from plutomi.bootstrap import dependencies
    from plutomi.config import get_settings
    from plutomi.runtime.relay import OutboxRelay

    relay = OutboxRelay(
        dependencies().store,
        get_settings().nats_url,
        probe_port=args.probe_port,
        probe_host="0.0.0.0",  # noqa: S104 - the kubelet probes the pod's address
        stall_after_seconds=args.stall_after,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, relay.stop)
        await relay.run()

    asyncio.run(main())
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from plutomi.adapters.jetstream import StreamReplicasRefused
    from plutomi.config import get_settings
    from plutomi.runtime.migrate import migrate

    try:
        migrate(get_settings())
    except StreamReplicasRefused as error:
        raise SystemExit(f"plutomi migrate: {error}") from error
    return 0


def cmd_recount(args: argparse.Namespace) -> int:
    from plutomi.bootstrap import dependencies
    from plutomi.services.board import recount

    done = recount(dependencies(), args.org, say=print)
    print(f"stage counters rebuilt for {done} application(s)")
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    from plutomi.config import get_settings
    from plutomi.runtime.local_mail import LocalMailUnavailable, list_sent_emails

    settings = get_settings()
    endpoint = settings.aws_endpoint_url
    if endpoint is None:
        raise SystemExit(
            "plutomi mail: reads the local SES (moto) of `plutomi dev`; set AWS_ENDPOINT_URL "
            f"(PLUTOMI_ENV is {settings.environment}, so there is no local default)"
        )
    try:
        emails = list_sent_emails(endpoint, to=args.to)[: args.limit]
    except LocalMailUnavailable:
        where = "AWS_ENDPOINT_URL" if "aws" in settings.external_services else "PLUTOMI_AWS_PORT"
        print(
            f"plutomi mail: no local SES answers at {endpoint}; is `plutomi dev` running "
            f"(with the same {where})?",
            file=sys.stderr,
        )
        return 1
    if not emails:
        print(f"no emails yet at {endpoint}")
    for email in emails:
        print(f"--- {email.message_id}")
        print(f"To: {', '.join(email.to)}\nFrom: {email.source}\nSubject: {email.subject}\n")
        print(email.text.rstrip() + "\n")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from plutomi.runtime import dlq

    if args.action == "list":
        return dlq.list_entries(args.consumer, as_json=args.json)
    if args.action == "show":
        return dlq.show(args.id)
    if args.action == "discard":
        return dlq.discard(args.id)
    if not args.all and not args.ids:
        what = "DLQ entries to redrive" if args.action == "redrive" else "retry pointers to run now"
        raise SystemExit(f"plutomi: name the {what}, or --all")
    if args.action == "retry-now":
        return dlq.retry_now(args.ids, args.all, args.consumer)
    return dlq.redrive(args.ids, args.all, args.consumer)


def cmd_trace(args: argparse.Namespace) -> int:
    from plutomi.runtime.trace import trace_event

    return trace_event(args.event_id, as_json=args.json)


def cmd_idempotency(args: argparse.Namespace) -> int:
    from plutomi.runtime import idempotency

    if args.action == "list":
        return idempotency.list_claims(args.consumer, args.stuck, json_output=args.json)
    if bool(args.keys) == args.all_lapsed:
        raise SystemExit("plutomi: name the idempotency keys to clear, or --all-lapsed (not both)")
    return idempotency.clear(args.keys, args.all_lapsed, args.consumer)


def _invoke_from_args(args: argparse.Namespace) -> Any:
    """`invoke` and `job`: calls FUNCTION with the event from --event and returns its result."""
    from plutomi.runtime.functions import UnknownFunction, invoke

    try:
        return invoke(args.function, _read_event(args.event))
    except UnknownFunction as error:
        raise SystemExit(f"plutomi: {error}") from error


def cmd_ses(args: argparse.Namespace) -> int:
    from plutomi.runtime import ses

    if args.action == "stats":
        return ses.stats(args.days)
    if args.action == "simulate":
        return ses.simulate(args.kind, args.to, args.bounce_type, args.subtype, args.feedback_id)
    return ses.poll(args.wait_seconds, args.probe_port, args.stall_after)


def cmd_invoke(args: argparse.Namespace) -> int:
    print(json.dumps(_invoke_from_args(args), indent=2, default=str))
    return 0


def cmd_job(args: argparse.Namespace) -> int:
    """`invoke` for a Kubernetes Job or CronJob: the same call, and the exit status says whether the
    handler failed (it raised, answered 5xx, or reported batch item failures), so the Job retries."""
    import traceback

    from plutomi.runtime.functions import failure_of

    try:
        result = _invoke_from_args(args)
    except Exception as error:
        traceback.print_exc()
        print(f"plutomi job {args.function}: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, default=str))  # one line among the handler's JSON log lines
    reason = failure_of(result)
    if reason is not None:
        print(f"plutomi job {args.function}: failed: {reason}", file=sys.stderr)
        return 1
    return 0


def cmd_event(args: argparse.Namespace) -> int:
    from plutomi.runtime import aws_events

    event: dict[str, Any]
    if args.source == "http":
        headers = [tuple(h.split(":", 1)) for h in args.header]
        headers = [(name.strip(), value.strip()) for name, value in headers]
        if args.body and not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("content-type", "application/json"))
        path, _, query = args.path.partition("?")
        event = aws_events.http_event(
            method=args.method, path=path, route_key=f"{args.method.upper()} {args.route or path}",
            path_parameters=dict(args.param), query_string=query,
            headers=headers, body=(args.body or "").encode(),
        )  # fmt: skip
    elif args.source == "sqs":
        event = aws_events.sqs_event([aws_events.sqs_record(body) for body in args.body or ["{}"]])
    elif args.source == "sns":
        event = aws_events.sns_event(args.message, subject=args.subject, attributes=dict(args.attribute))
    else:
        event = aws_events.schedule_event(args.rule)
    print(aws_events.dumps(event))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plutomi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="run everything locally: services, migrate, gateway, bridges")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=int(__import__("os").environ.get("PLUTOMI_PORT") or 8080))
    dev.add_argument("--data-dir", default=".plutomi")
    dev.add_argument(
        "--only",
        metavar="PARTS",
        help="run only these, comma-separated: services, gateway, relay, bridges, pollers, jobs, or one "
        "bridge tier, poller or schedule by name; without services, against the running ones",
    )
    dev.set_defaults(run=cmd_dev)

    gateway = commands.add_parser("gateway", help="serve the HTTP API (the production server on K3S)")
    gateway.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server in a container listens on all
    gateway.add_argument(
        "--port", type=int, default=int(__import__("os").environ.get("PLUTOMI_PORT") or 8080)
    )
    gateway.add_argument("--workers", type=int, default=1)
    gateway.set_defaults(run=cmd_gateway)

    bridge = commands.add_parser("bridge", help="feed a handler from a JetStream consumer tier")
    bridge.add_argument("--consumer", required=True, help="a tier: C, C-retry, meta or super-meta")
    bridge.add_argument("--concurrency", type=int, default=1, help="batches in flight at once")
    bridge.add_argument(
        "--target", choices=["process", "lambda"], default="process", help="call in-process or Lambda"
    )
    bridge.add_argument("--function-name", help="the Lambda function to invoke with --target lambda")
    bridge.add_argument(
        "--report-every", type=_seconds, metavar="SECONDS", help="how often to log lag and counts (30)"
    )
    _add_probe_arguments(bridge)  # /healthz also carries the tier's lag and counts
    bridge.set_defaults(run=cmd_bridge)

    relay = commands.add_parser(
        "relay", help="publish the outbox to JetStream (also runs inside the gateway)"
    )
    _add_probe_arguments(relay)
    relay.set_defaults(run=cmd_relay)

    migrate = commands.add_parser("migrate", help="create indexes, streams, consumers and the SES identity")
    migrate.set_defaults(run=cmd_migrate)

    recount = commands.add_parser(
        "recount", help="rebuild the board's stage counters from the applicants (one org, or every org)"
    )
    recount.add_argument("--org", help="only this org's applications (its org id)")
    recount.set_defaults(run=cmd_recount)

    mail = commands.add_parser("mail", help="list the emails the local SES accepted, newest first")
    mail.add_argument("--to", help="only emails to this address")
    mail.add_argument("--limit", type=int, default=10)
    mail.set_defaults(run=cmd_mail)

    dlq = commands.add_parser(
        "dlq",
        help="the retry tier and the dead-letter queue: list, show, redrive, retry now, discard",
        description="Events a consumer could not handle wait as pointers on the retry tier "
        "(events-retry, run again after the tier's back-off) and, when those retries fail too, in the "
        "DLQ (events-dlq) for people. Exits 1 with one line when MongoDB or NATS cannot be reached.",
    )
    actions = dlq.add_subparsers(dest="action", required=True)
    dlq_list = actions.add_parser(
        "list",
        help="what waits in the retry tier (and when it runs next) and what sits in the DLQ",
        description="Lists the retry tier's pointers its consumer has not handled (seq, tries, next "
        "attempt or `due now`) and the DLQ's entries, then a count line.",
    )
    dlq_list.add_argument("--consumer", help="only this business consumer, e.g. webhooks")
    dlq_list.add_argument("--json", action="store_true", help="one JSON object: both tiers and the counts")
    dlq_show = actions.add_parser("show", help="an entry: its event and every failed attempt")
    dlq_show.add_argument("id", type=int, help="the DLQ id `dlq list` shows")
    dlq_redrive = actions.add_parser(
        "redrive",
        help="run the originals through their consumer again, here; each one that succeeds leaves the DLQ",
    )
    dlq_redrive.add_argument("ids", type=int, nargs="*", help="DLQ ids")
    dlq_redrive.add_argument("--all", action="store_true", help="every entry (of --consumer)")
    dlq_redrive.add_argument("--consumer")
    dlq_retry_now = actions.add_parser(
        "retry-now",
        help="run parked retries now instead of after their back-off",
        description="Runs each pointer's original through its consumer's handler in this process, "
        "as redrive does; one that succeeds is removed from the retry stream, so its bridge does not "
        "run it again (a run that races it finds the consumer's idempotency record and does nothing). "
        "One that fails stays, with its schedule unchanged and the error recorded.",
    )
    dlq_retry_now.add_argument("ids", type=int, nargs="*", help="retry-tier seqs, as `dlq list` shows them")
    dlq_retry_now.add_argument("--all", action="store_true", help="every waiting pointer (of --consumer)")
    dlq_retry_now.add_argument("--consumer")
    dlq_discard = actions.add_parser("discard", help="drop an entry for good")
    dlq_discard.add_argument("id", type=int)
    dlq.set_defaults(run=cmd_dlq)

    trace = commands.add_parser(
        "trace",
        help="one event's path: outbox, stream, each consumer's record and errors, retries, DLQ, effect",
        description="Shows where an event went: its outbox record (written, sent or pending), its "
        "sequence and subject in the events stream, each consumer's idempotency record (status, "
        "expiry) and failed attempts, its webhook deliveries, the retry and DLQ pointers naming it, "
        "and the effect each consumer reported. Exits 1 for an unknown event id.",
    )
    trace.add_argument("event_id", help="an event id, evt_...")
    trace.add_argument("--json", action="store_true", help="one JSON object")
    trace.set_defaults(run=cmd_trace)

    idempotency = commands.add_parser(
        "idempotency",
        help="consumers' in-progress claims: list them, clear lapsed ones",
        description="A consumer that crashed mid-event leaves an in-progress claim; once it has "
        "lapsed, the next delivery takes it over. `clear` removes only lapsed claims: never a live "
        "claim, never a completed record (which keeps the effect from happening twice).",
    )
    idempotency_actions = idempotency.add_subparsers(dest="action", required=True)
    idempotency_list = idempotency_actions.add_parser("list", help="in-progress claims, oldest first")
    idempotency_list.add_argument("--consumer", help="only this consumer's claims, e.g. notifications")
    idempotency_list.add_argument("--stuck", action="store_true", help="only claims that have lapsed")
    idempotency_list.add_argument("--json", action="store_true", help="one JSON object")
    idempotency_clear = idempotency_actions.add_parser(
        "clear", help="remove lapsed in-progress claims (refuses live claims and completed records)"
    )
    idempotency_clear.add_argument("keys", nargs="*", help="idempotency keys, as `idempotency list` shows")
    idempotency_clear.add_argument("--all-lapsed", action="store_true", help="every lapsed claim")
    idempotency_clear.add_argument("--consumer", help="with --all-lapsed: only this consumer's")
    idempotency.set_defaults(run=cmd_idempotency)

    ses = commands.add_parser(
        "ses", help="email feedback: sending health, simulated SES feedback, the poller"
    )
    ses_actions = ses.add_subparsers(dest="action", required=True)
    ses_stats = ses_actions.add_parser(
        "stats", help="bounce and complaint rates against SES's review and pause thresholds"
    )
    ses_stats.add_argument("--days", type=int, default=7, help="the window, counted back from now")
    ses_simulate = ses_actions.add_parser(
        "simulate", help="publish an SES notification to the local feedback topic, as SES would"
    )
    ses_simulate.add_argument("kind", choices=["bounce", "complaint", "delivery"])
    ses_simulate.add_argument("--to", required=True, help="the recipient the notification is about")
    ses_simulate.add_argument(
        "--bounce-type", choices=["Permanent", "Transient", "Undetermined"], default="Permanent"
    )
    ses_simulate.add_argument("--subtype", help="the bounce subtype (default General)")
    ses_simulate.add_argument("--feedback-id", help="reuse a feedback id (to see a duplicate change nothing)")
    ses_poll = ses_actions.add_parser(
        "poll", help="feed consumers.ses_feedback from its SQS queue (plutomi dev does; K3S runs it)"
    )
    ses_poll.add_argument(
        "--wait-seconds",
        type=int,
        choices=range(21),
        default=1,
        metavar="0-20",
        help="SQS long polling: how long a receive waits for a message (1; 20 on K3S: fewer requests)",
    )
    _add_probe_arguments(ses_poll)
    ses.set_defaults(run=cmd_ses)

    invoke = commands.add_parser("invoke", help="call a function with an event, like `sam local invoke -e`")
    invoke.add_argument("function", help="e.g. api.orgs or consumers.notifications")
    invoke.add_argument("--event", "-e", required=True, help="a JSON file, or - for standard input")
    invoke.set_defaults(run=cmd_invoke)

    job = commands.add_parser(
        "job", help="run a function once, as a Kubernetes Job: exits 1 when the handler failed"
    )
    job.add_argument("function", help="e.g. scheduled.idle_sweeper or consumers.notifications")
    job.add_argument("--event", "-e", required=True, help="a JSON file, or - for standard input")
    job.set_defaults(run=cmd_job)

    event = commands.add_parser("event", help="print a sample AWS event, like `sam local generate-event`")
    sources = event.add_subparsers(dest="source", required=True)
    http = sources.add_parser("http", help="API Gateway HTTP API (payload 2.0)")
    http.add_argument("--method", default="GET")
    http.add_argument("--path", default="/health")
    http.add_argument("--route", help="the route template, e.g. /orgs/{org_id}")
    http.add_argument(
        "--param", action="append", default=[], type=_name_value, help="path parameter name=value"
    )
    http.add_argument("--header", action="append", default=[], help="Name: value")
    http.add_argument("--body")
    sqs = sources.add_parser("sqs", help="an SQS batch")
    sqs.add_argument("--body", action="append", help="a record body (repeat for more records)")
    sns = sources.add_parser("sns", help="an SNS notification")
    sns.add_argument("--message", default="{}")
    sns.add_argument("--subject", help="the notification's Subject (none: null, as SNS sends it)")
    sns.add_argument(
        "--attribute",
        action="append",
        default=[],
        type=_name_value,
        help="a String message attribute name=value",
    )
    schedule = sources.add_parser("schedule", help="an EventBridge scheduled event")
    schedule.add_argument("--rule", default="plutomi-schedule")
    event.set_defaults(run=cmd_event)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
