"""Starting a chat: Amazon Connect ``StartChatContact``, from Python, emulator or real service.

This is the step a customer-facing backend does before handing the participant token to the
customer's client. The chat session itself never needs AWS credentials (the Participant
Service authenticates with the participant's tokens); starting a chat on Amazon Connect does.
Against the emulator it must not: a new user has no AWS keys, and the emulator checks no
signature. So the rule is:

- no ``endpoint_url`` (Amazon Connect): the request is signed with the caller's AWS
  credentials (environment, profile, SSO, instance role...), and none found is an error;
- an ``endpoint_url`` (an emulator, or a VPC endpoint of the real service): the caller's
  credentials when there are some, else the request goes unsigned (the emulator accepts it;
  a real endpoint refuses it with :class:`~connect_chat.errors.AccessDeniedError`).

``anonymous=True`` forces the unsigned request, ``anonymous=False`` forces credentials.
Every error raised is a :class:`~connect_chat.errors.ConnectChatError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connect_chat.client import acyclic_parsers
from connect_chat.enums import ContentType
from connect_chat.errors import (
    ConnectChatError,
    EndpointUnreachableError,
    InvalidInputError,
    ServiceError,
)
from connect_chat.models import ChatDetails

logger = logging.getLogger(__name__)

#: The content types a chat started here accepts (interactive answers included).
SUPPORTED_MESSAGING_CONTENT_TYPES = (
    ContentType.PLAIN_TEXT.value,
    ContentType.RICH_TEXT.value,
    ContentType.JSON.value,
    ContentType.INTERACTIVE_TEXT.value,
    ContentType.INTERACTIVE_RESPONSE.value,
)

#: Instance and flow ids used on an emulator when none are given (it accepts any).
EMULATOR_INSTANCE_ID = "emulator-instance"
EMULATOR_CONTACT_FLOW_ID = "emulator-flow"

#: The region when neither the argument nor the AWS configuration names one.
FALLBACK_REGION = "us-west-2"

_OPERATION = "StartChatContact"


class CredentialsError(ConnectChatError):
    """Starting a chat on Amazon Connect needs AWS credentials, and none could be used."""


def start_chat_contact(
    *,
    instance_id: str | None = None,
    contact_flow_id: str | None = None,
    display_name: str = "Customer",
    region: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    attributes: Mapping[str, str] | None = None,
    anonymous: bool | None = None,
    connect_timeout: float = 10.0,
) -> ChatDetails:
    """Start a chat (``StartChatContact``) and return the customer participant's details.

    Against an emulator only ``endpoint_url`` is needed::

        details = start_chat_contact(endpoint_url="http://127.0.0.1:8000", display_name="Ann")

    Against Amazon Connect, ``instance_id`` and ``contact_flow_id`` are required and the
    request is signed with your AWS credentials (``profile`` picks a named one). ``region``
    defaults to the AWS configuration's, else ``us-west-2``. Raises
    :class:`CredentialsError`, :class:`~connect_chat.errors.InvalidInputError`,
    :class:`~connect_chat.errors.ServiceError` (typed by the service's code) or
    :class:`~connect_chat.errors.EndpointUnreachableError`.
    """
    instance_id, contact_flow_id = _ids(instance_id, contact_flow_id, endpoint_url)
    if not isinstance(display_name, str) or not display_name.strip():
        raise InvalidInputError("display_name must be a non-empty string")
    if endpoint_url is not None and not (
        isinstance(endpoint_url, str) and endpoint_url.startswith(("http://", "https://"))
    ):
        raise InvalidInputError("endpoint_url must start with http:// or https://")
    if anonymous and endpoint_url is None:
        raise InvalidInputError("anonymous=True needs an endpoint_url: Amazon Connect "
                                "only accepts requests signed with AWS credentials")
    request: dict[str, Any] = {
        "InstanceId": instance_id,
        "ContactFlowId": contact_flow_id,
        "ParticipantDetails": {"DisplayName": display_name},
        "SupportedMessagingContentTypes": list(SUPPORTED_MESSAGING_CONTENT_TYPES),
    }
    if attributes:
        request["Attributes"] = dict(attributes)
    import botocore.exceptions

    try:
        client = _connect_client(profile, region, endpoint_url, anonymous, connect_timeout)
        logger.debug("StartChatContact instance=%s flow=%s", instance_id, contact_flow_id)
        answer = client.start_chat_contact(**request)
    except botocore.exceptions.NoCredentialsError:
        raise CredentialsError(
            "no AWS credentials found: starting a chat on Amazon Connect signs "
            "StartChatContact with your credentials (run `aws configure`, set AWS_PROFILE, or "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ) from None
    except botocore.exceptions.ProfileNotFound as error:
        raise CredentialsError(str(error)) from error
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise _translate(error, endpoint_url) from error
    except ValueError as error:  # botocore's check of the endpoint URL
        raise InvalidInputError(f"{_OPERATION}: {error}") from error
    return _details(answer)


def _ids(
    instance_id: str | None, contact_flow_id: str | None, endpoint_url: str | None
) -> tuple[str, str]:
    """The instance and flow ids; an emulator needs none (it accepts any)."""
    if endpoint_url is not None:
        instance_id = EMULATOR_INSTANCE_ID if instance_id is None else instance_id
        contact_flow_id = EMULATOR_CONTACT_FLOW_ID if contact_flow_id is None else contact_flow_id
    for name, value in (("instance_id", instance_id), ("contact_flow_id", contact_flow_id)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"{name} must be a non-empty string (the Amazon Connect "
                                    "instance and the contact flow that routes the chat)")
    assert instance_id is not None and contact_flow_id is not None
    return instance_id, contact_flow_id


def _connect_client(
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    anonymous: bool | None,
    connect_timeout: float,
) -> Any:
    """A botocore ``connect`` client, signed or not by the module's rule."""
    import botocore.config
    import botocore.exceptions
    import botocore.session
    from botocore import UNSIGNED

    session = botocore.session.Session(profile=profile)
    acyclic_parsers(session)
    options: dict[str, Any] = {}
    if anonymous is None:
        anonymous = endpoint_url is not None and session.get_credentials() is None
    if anonymous:
        options["signature_version"] = UNSIGNED
    elif session.get_credentials() is None:
        raise botocore.exceptions.NoCredentialsError()
    return session.create_client(
        "connect",
        region_name=region or session.get_config_variable("region") or FALLBACK_REGION,
        endpoint_url=endpoint_url,
        config=botocore.config.Config(
            connect_timeout=connect_timeout,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": 2},
            **options,
        ),
    )


def _translate(error: Exception, endpoint_url: str | None) -> ConnectChatError:
    """botocore's error -> the SDK's typed error (service errors keep their code)."""
    import botocore.exceptions as boto

    from connect_chat.client import _sdk_error

    if isinstance(error, boto.ClientError | boto.ParamValidationError):
        return _sdk_error(_OPERATION, error)
    if isinstance(error, boto.NoRegionError | boto.PartialCredentialsError):
        return CredentialsError(f"{_OPERATION}: {error}")
    where = endpoint_url or "the Amazon Connect endpoint"
    return EndpointUnreachableError(
        f"{_OPERATION}: {where} could not be reached ({type(error).__name__})"
    )


def _details(answer: Mapping[str, Any]) -> ChatDetails:
    token = answer.get("ParticipantToken")
    if not isinstance(token, str) or not token:
        raise ServiceError("the answer has no ParticipantToken", operation=_OPERATION)
    logger.debug("StartChatContact started contact %s", answer.get("ContactId"))
    return ChatDetails(
        participant_token=token,
        contact_id=answer.get("ContactId"),
        participant_id=answer.get("ParticipantId"),
    )
