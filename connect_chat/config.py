"""Session configuration: iOS ``GlobalConfig``/``Features``/``MessageReceipts`` + timing knobs.

All classes are frozen attrs classes: a configuration is a value. Change one with
``attrs.evolve(config, heartbeat_interval=1.0)`` and hand it to ``ChatSession.configure``.
The service's own timings (10 s heartbeat, 5 s receipt window, 10 s typing throttle...) are
the defaults; tests shorten them here instead of sleeping.
"""

from __future__ import annotations

from typing import Any

import attrs

# DEFAULT_REGION lives with the client (its default too) and is re-exported here.
from connect_chat.client import DEFAULT_REGION as DEFAULT_REGION
from connect_chat.client import AWSClient
from connect_chat.errors import InvalidInputError


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise InvalidInputError(f"{attribute.name} must be a positive number, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise InvalidInputError(f"{attribute.name} must be a number >= 0, got {value!r}")


def _growth_factor(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 1:
        raise InvalidInputError(f"{attribute.name} must be a number >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class MessageReceipts:
    """Whether read/delivered receipts are sent, and the window that batches them (iOS: 5 s)."""

    should_send_message_receipts: bool = True
    throttle_time: float = attrs.field(default=5.0, validator=_non_negative)


@attrs.frozen(kw_only=True)
class Features:
    """Optional behaviours (iOS ``Features``)."""

    message_receipts: MessageReceipts = attrs.field(factory=MessageReceipts)


@attrs.frozen(kw_only=True)
class GlobalConfig:
    """Everything a :class:`~connect_chat.session.ChatSession` needs to know before connecting.

    ``custom_aws_client`` is either an :class:`~connect_chat.client.AWSClient` subclass (the
    session instantiates it with this config's region, endpoint and botocore config, so an
    override calling ``super()`` works unchanged) or a ready instance (used as given: you built
    it, you chose its endpoint).

    ``botocore_config`` is merged into the SDK's own botocore ``Config`` (proxies, timeouts,
    retries); the SDK always keeps ``signature_version=UNSIGNED``.
    """

    region: str = attrs.field(default=DEFAULT_REGION)
    features: Features = attrs.field(factory=Features)
    #: botocore client-side monitoring (CSM). The SDK sends no metrics of its own anywhere;
    #: with ``True`` (the default, unlike the mobile SDKs) botocore's CSM is forced off too,
    #: whatever the environment (``AWS_CSM_ENABLED``) says. ``False`` is the explicit opt-in:
    #: CSM then follows the environment. Local counters: ``ChatSession.stats``.
    disable_csm: bool = True
    custom_aws_client: AWSClient | type[AWSClient] | None = attrs.field(default=None)
    endpoint_url: str | None = attrs.field(default=None)
    botocore_config: Any = attrs.field(default=None)

    # --- timing knobs (seconds) ------------------------------------------------------------
    #: Interval of ``aws/heartbeat`` and ``aws/ping``; a reply missing after one interval is a miss.
    heartbeat_interval: float = attrs.field(default=10.0, validator=_positive)
    #: How long ``connect()`` waits for the WebSocket to be open and subscribed.
    connect_timeout: float = attrs.field(default=15.0, validator=_positive)
    #: Reconnect backoff: the first retry after ``reconnect_first_delay``, then ``base``,
    #: ``base * factor``... up to ``cap``, each shortened by up to ``jitter`` (0..1) of itself.
    reconnect_first_delay: float = attrs.field(default=0.0, validator=_non_negative)
    reconnect_backoff_base: float = attrs.field(default=0.5, validator=_positive)
    reconnect_backoff_factor: float = attrs.field(default=2.0, validator=_growth_factor)
    reconnect_backoff_cap: float = attrs.field(default=30.0, validator=_positive)
    reconnect_backoff_jitter: float = attrs.field(default=0.3, validator=_non_negative)
    #: Give up reconnecting after this many failed attempts in a row (None: never give up).
    max_reconnect_attempts: int | None = attrs.field(default=None)
    #: Leading-edge throttle of outgoing typing events, and lifetime of an incoming indicator.
    typing_throttle: float = attrs.field(default=10.0, validator=_non_negative)
    typing_expiry: float = attrs.field(default=12.0, validator=_positive)
    #: Delay before an incoming message's delivered receipt becomes pending (iOS: 3 s).
    delivered_receipt_delay: float = attrs.field(default=3.0, validator=_non_negative)
    #: MaxResults of the history page loaded on connect.
    transcript_page_size: int = attrs.field(default=30)
    #: MaxResults of each catch-up page after a reconnect or an inbox overflow (the
    #: service's maximum by default: fewer calls for a long outage).
    gap_fill_page_size: int = attrs.field(default=100)
    #: A catch-up fetches at most this many pages (``gap_fill_page_size`` items each,
    #: 10,000 by default); missed items older than that are not delivered, and
    #: ``SessionStats.gap_fills_truncated`` counts it (docs/reliability.md).
    gap_fill_max_pages: int = attrs.field(default=100)
    #: The socket's read timeout while subscribing and during a refresh hand-over (once
    #: subscribed, the socket thread sleeps until its next heartbeat or refresh deadline).
    socket_poll_interval: float = attrs.field(default=0.2, validator=_positive)
    #: Deadline for ``disconnect()``/``reset()`` to join the session's two threads.
    join_timeout: float = attrs.field(default=2.0, validator=_positive)
    #: The outbox: total time ``send_message`` / ``send_attachment`` may take, retries of
    #: throttling, 5xx and network errors included, before the message becomes FAILED.
    send_timeout: float = attrs.field(default=30.0, validator=_positive)
    #: Outbox backoff between attempts: ``send_retry_base``, doubling, at most ``send_retry_cap``.
    send_retry_base: float = attrs.field(default=0.5, validator=_positive)
    send_retry_cap: float = attrs.field(default=5.0, validator=_positive)
    #: Total time of any other REST call (get_transcript, send_event, describe_view,
    #: GetAttachment...), botocore's retries included: past it the call's socket is shut
    #: down and ``RequestTimeoutError`` raised (docs/reliability.md, "Deadlines").
    request_timeout: float = attrs.field(default=30.0, validator=_positive)
    #: Total time of ``download_attachment``'s GET of the file.
    transfer_timeout: float = attrs.field(default=300.0, validator=_positive)
    #: Proactive refresh (make-before-break): a new connection token and socket this long
    #: before the connection token's ``Expiry`` -- and never later than when 3/4 of the
    #: remaining lifetime has passed, so short lifetimes are refreshed too. (The URL's
    #: ``ConnectionExpiry`` is only a deadline to open it: an open socket is not replaced.)
    connection_refresh_margin: float = attrs.field(default=60.0, validator=_non_negative)
    #: Replace the socket (make-before-break) after this long even when no expiry says so
    #: (ChatJS: 3540 s); None: only the service's expiries count.
    websocket_max_lifetime: float | None = attrs.field(default=3540.0)
    #: Capacity of the inbox queue between the socket thread and the dispatcher thread.
    inbox_size: int = attrs.field(default=10_000)
    #: Capacity of each pull-API subscriber queue (oldest items dropped beyond it, with a warning).
    pull_queue_size: int = attrs.field(default=1_000)
    #: Keep at most this many items in ``session.transcript`` (the oldest leave memory and
    #: stay reachable with ``get_transcript``); None: no bound. For long-running bots.
    transcript_max_items: int | None = attrs.field(default=None)

    @features.validator
    def _check_features(self, attribute: attrs.Attribute[Features], value: Features) -> None:
        if not isinstance(value, Features):
            raise InvalidInputError(f"features must be a Features, got {type(value).__name__}")

    @custom_aws_client.validator
    def _check_client(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None or isinstance(value, AWSClient):
            return
        if isinstance(value, type) and issubclass(value, AWSClient):
            return
        raise InvalidInputError(
            "custom_aws_client must be an AWSClient subclass or instance, "
            f"got {type(value).__name__}"
        )

    @botocore_config.validator
    def _check_botocore(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        from botocore.config import Config

        if value is not None and not isinstance(value, Config):
            raise InvalidInputError(
                f"botocore_config must be a botocore.config.Config, got {type(value).__name__}"
            )

    @max_reconnect_attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(
                f"max_reconnect_attempts must be None or an int >= 1, got {value!r}"
            )

    @websocket_max_lifetime.validator
    def _check_lifetime(
        self, attribute: attrs.Attribute[float | None], value: float | None
    ) -> None:
        if value is None:
            return
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise InvalidInputError(
                f"websocket_max_lifetime must be None or a positive number, got {value!r}"
            )

    @send_retry_cap.validator
    def _check_send_cap(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.send_retry_base:
            raise InvalidInputError("send_retry_cap must be >= send_retry_base")

    @region.validator
    def _check_region(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"region must be a non-empty string, got {value!r}")

    @endpoint_url.validator
    def _check_endpoint(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"endpoint_url must be an http:// or https:// URL, got {value!r}"
            )

    @transcript_page_size.validator
    def _check_page_size(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or not 1 <= value <= 100:
            raise InvalidInputError(f"transcript_page_size must be 1..100, got {value!r}")

    @gap_fill_page_size.validator
    def _check_gap_page(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or not 1 <= value <= 100:
            raise InvalidInputError(f"gap_fill_page_size must be 1..100, got {value!r}")

    @gap_fill_max_pages.validator
    def _check_gap_pages(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(f"gap_fill_max_pages must be an int >= 1, got {value!r}")

    @reconnect_backoff_jitter.validator
    def _check_jitter(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value > 1:
            raise InvalidInputError(f"reconnect_backoff_jitter must be 0..1, got {value!r}")

    @reconnect_backoff_cap.validator
    def _check_cap(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.reconnect_backoff_base or value < self.reconnect_first_delay:
            raise InvalidInputError("reconnect_backoff_cap must be >= the base and first delay")

    @inbox_size.validator
    def _check_inbox(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or value < 16:
            raise InvalidInputError(f"inbox_size must be an int >= 16, got {value!r}")

    @transcript_max_items.validator
    def _check_max_items(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise InvalidInputError(
                f"transcript_max_items must be an int >= 1 or None, got {value!r}"
            )

    @pull_queue_size.validator
    def _check_pull(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"pull_queue_size must be an int >= 1, got {value!r}")
