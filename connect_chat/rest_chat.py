"""``RestChat``: go on with a saved chat over REST only (no WebSocket, no thread).

It fits a request handler that sends a message, reads what is new, and returns. It shares
the session's pieces rather than copying them: the token owner (``credentials``), the send
steps (``outbox.post_message``/``post_attachment``), the catch-up (``gapfill.items_after``)
and the download path (``attachments.save_download``).
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from connect_chat.attachments import (
    Progress,
    checked_attachment_id,
    checked_download,
    download_source,
    inspect_file,
    save_download,
)
from connect_chat.credentials import Credentials
from connect_chat.deadlines import DEFAULT_TRANSFER_TIMEOUT, watched_http_session
from connect_chat.enums import ContentType, MessageReceiptType, ScanDirection, SortKey
from connect_chat.errors import ChatEndedError, InvalidInputError
from connect_chat.gapfill import items_after
from connect_chat.interactive import ViewResource
from connect_chat.models import (
    ConnectionDetails,
    StartPosition,
    TranscriptItem,
    TranscriptResponse,
)
from connect_chat.outbox import message_entry, post_attachment, post_message
from connect_chat.parsing import parse_transcript_page
from connect_chat.receipts import receipt_content
from connect_chat.saved_chat import TOKEN_EXPIRY_MARGIN, SavedChat, ended_message
from connect_chat.timestamps import time_key, utc_now
from connect_chat.validation import (
    checked_event,
    checked_message,
    checked_receipt,
    checked_transcript_request,
)

if TYPE_CHECKING:
    import requests

    from connect_chat.client import AWSClient

logger = logging.getLogger(__name__)


class RestChat:
    """Go on with a saved chat over REST only: no WebSocket, no thread, nothing left running.

    Made for request handlers: build one from the stored :class:`SavedChat`, call what the
    request needs, then store :attr:`saved` back (it changes when the connection token is
    renewed and when :meth:`new_items` moves the "last seen" mark)::

        chat = RestChat(SavedChat.from_dict(request.session["chat"]))
        chat.send_message(ContentType.PLAIN_TEXT, "hello")
        for item in chat.new_items(): ...
        request.session["chat"] = chat.saved.to_dict()

    The connection token is created (CreateParticipantConnection) when the saved state has
    none or it is about to expire, and renewed once when the service refuses it; if the
    participant token is refused too, the chat is over and :class:`ChatEndedError` is raised.
    Receipts are sent as asked (no throttling: a request handler does not live long enough
    to batch them). Not thread-safe: one ``RestChat`` per request.
    """

    def __init__(
        self,
        saved: SavedChat,
        *,
        client: AWSClient | None = None,
        http: requests.Session | None = None,
        clock: Callable[[], datetime.datetime] = utc_now,
        transfer_timeout: float = DEFAULT_TRANSFER_TIMEOUT,
    ) -> None:
        if not isinstance(saved, SavedChat):
            raise InvalidInputError("RestChat needs a SavedChat (see SavedChat.from_dict)")
        self._saved = saved
        if client is None:
            from connect_chat.client import AWSClient

            client = AWSClient(region=saved.region, endpoint_url=saved.endpoint_url)
        self._client = client
        self._credentials = Credentials(
            client,
            saved.participant_token,
            saved.connection_details(),
            on_change=self._connected,
            is_fresh=self._token_is_fresh,
            ended_message=ended_message(saved),
        )
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        #: Bound of an attachment PUT/GET (REST calls: the client's ``call_timeout``).
        self._transfer_timeout = transfer_timeout

    def __repr__(self) -> str:
        return f"RestChat(contact_id={self._saved.contact_id!r})"

    def __enter__(self) -> RestChat:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session used for attachments (if this object made it)."""
        if self._http is not None and self._owns_http:
            self._http.close()
            self._http = None
        self._client.close()  # keep-alive sockets, else open until the garbage collector runs

    @property
    def saved(self) -> SavedChat:
        """The current state: store it back after the request."""
        return self._saved

    # -- the connection token ----------------------------------------------------------------

    def _token_is_fresh(self, details: ConnectionDetails) -> bool:
        expiry = details.expiry
        return expiry is None or expiry - self._clock() > TOKEN_EXPIRY_MARGIN

    def _connected(self, details: ConnectionDetails) -> None:
        self._saved = self._saved.with_connection_details(details)
        logger.debug("new connection for contact %s", self._saved.contact_id)

    def refresh_connection(self) -> SavedChat:
        """Create a new connection (token and WebSocket URL) with the participant token."""
        self._credentials.refresh(self._saved.connection_token or "")
        return self._saved

    def _run(self, operation: str, call: Callable[[str], Any], deadline: float) -> Any:
        """One REST step of the sender (``outbox.Runner``): once, with a fresh token if
        refused (no retries: a request handler does not wait)."""
        return self._credentials.call(call)

    # -- messages and events -----------------------------------------------------------------

    def send_message(self, content_type: ContentType | str, content: str) -> str:
        """SendMessage; returns the message's id."""
        content_type = checked_message(content_type, content)
        entry = message_entry(content_type, content)
        answer = post_message(self._run, self._client, entry, time.monotonic())
        return str(answer.get("Id", ""))

    def send_event(self, content_type: ContentType | str, content: str = "") -> str | None:
        """SendEvent (typing, receipts...); returns the event's id if the service gave one."""
        content_type = checked_event(content_type, content)
        answer = self._credentials.call(
            lambda token: self._client.send_event(token, content_type, content or None)
        )
        event_id = answer.get("Id")
        return str(event_id) if event_id else None

    def send_message_receipt(
        self, receipt_type: MessageReceiptType | str, message_id: TranscriptItem | str
    ) -> str | None:
        """Send one read/delivered receipt now (explicit, not throttled) for a message id or
        item (the checks of ``ChatSession.send_message_receipt``)."""
        kind = checked_receipt(receipt_type, message_id)
        if isinstance(message_id, TranscriptItem):
            message_id = message_id.id
        return self.send_event(kind.value, receipt_content(message_id))

    # -- transcript --------------------------------------------------------------------------

    def get_transcript(
        self,
        scan_direction: ScanDirection | str = ScanDirection.BACKWARD,
        sort_order: SortKey | str = SortKey.ASCENDING,
        max_results: int = 30,
        next_token: str | None = None,
        start_position: StartPosition | str | None = None,
    ) -> TranscriptResponse:
        """One GetTranscript page, parsed (``start_position`` may be a message id)."""
        scan, order, position = checked_transcript_request(
            scan_direction, sort_order, max_results, next_token, start_position
        )
        answer = self._credentials.call(
            lambda token: self._client.get_transcript(
                token,
                scan_direction=scan,
                sort_order=order,
                max_results=max_results,
                next_token=next_token,
                start_position=position,
            )
        )
        page = parse_transcript_page(answer)
        return TranscriptResponse(
            initial_contact_id=page.initial_contact_id,
            next_token=page.next_token or "",
            transcript=tuple(parsed.item for parsed in page.items),
        )

    def iter_history(
        self, *, page_size: int = 100, max_pages: int = 50
    ) -> Iterator[TranscriptItem]:
        """The whole transcript, oldest first (pages fetched backward, then put in order)."""
        pages: list[tuple[TranscriptItem, ...]] = []
        token: str | None = None
        for _ in range(max_pages):
            response = self.get_transcript(
                ScanDirection.BACKWARD, SortKey.ASCENDING, page_size, next_token=token
            )
            pages.append(tuple(response.transcript))
            token = response.next_token or None
            if token is None:
                break
        seen: set[str] = set()
        for page in reversed(pages):
            for item in page:
                if item.id not in seen:
                    seen.add(item.id)
                    yield item

    def new_items(self, *, page_size: int = 100, max_pages: int = 50) -> list[TranscriptItem]:
        """Transcript items after the last one seen (all of them the first time), oldest first.

        Moves the "last seen" mark of :attr:`saved` to the newest item returned.
        """
        last_id = self._saved.last_item_id
        if last_id is None:
            items = list(self.iter_history(page_size=page_size, max_pages=max_pages))
        else:
            items = items_after(
                self.get_transcript, last_id, self._saved.last_item_time, page_size, max_pages
            )
        items.sort(key=lambda item: time_key(item.time_stamp))
        if items:
            newest = items[-1]
            self._saved = self._saved.with_last_item(newest.id, newest.time_stamp)
        return items

    # -- attachments -------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        if self._http is None:
            self._http = watched_http_session()  # transfers abortable at their deadline
            self._owns_http = True
        return self._http

    def send_attachment(
        self, path: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> str:
        """Upload a file (checked first) and post it to the chat; returns the attachment id.

        The same steps as a session's ``send_attachment`` (each with its ClientToken), once.
        """
        file = inspect_file(path)
        entry = message_entry(file.content_type, file.name, Path(os.fspath(path)))
        return post_attachment(
            self._run, self._client, entry, time.monotonic() + self._transfer_timeout,
            http=self._session(), progress=progress,
        )

    def get_attachment_download_url(self, attachment_id: str) -> str:
        """The pre-signed URL of an attachment (a secret: do not log it)."""
        checked_attachment_id(attachment_id)
        return download_source(self._credentials.call(
            lambda token: self._client.get_attachment(token, attachment_id)
        ))[0]

    def download_attachment(
        self,
        attachment_id: str,
        filename: str,
        directory: str | os.PathLike[str] | None = None,
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Download an attachment into ``directory`` (a new temporary one by default)."""
        checked_download(attachment_id, filename, directory)
        url, size = download_source(self._credentials.call(
            lambda token: self._client.get_attachment(token, attachment_id)
        ))
        with self._client.calls.scope("attachment download", self._transfer_timeout):
            return save_download(
                self._session(), url, directory, filename, progress, expected_size=size
            )

    def describe_view(self, view_token: str) -> ViewResource:
        """DescribeView: the form behind an interactive ViewResource message."""
        answer = self._credentials.call(
            lambda token: self._client.describe_view(token, view_token)
        )
        return ViewResource.from_service(answer)

    # -- leaving -----------------------------------------------------------------------------

    def disconnect(self) -> None:
        """DisconnectParticipant: the customer leaves (nothing to do if the chat has ended).

        The saved state is spent afterwards: the service refuses its tokens.
        """
        try:
            self._credentials.call(self._client.disconnect_participant_connection)
        except ChatEndedError:
            logger.debug("disconnect: the chat %s had already ended", self._saved.contact_id)
        finally:
            self.close()


