"""Starting a chat: Amazon Connect ``StartChatContact``, signed with the caller's credentials.

This is the step a customer-facing backend does before handing the participant token to the
customer's client. The SDK's session never needs AWS credentials (the Participant Service
authenticates with the participant's tokens); starting a chat does. Against the emulator (an
``endpoint_url`` and no credentials of one's own) the request is signed with throw-away
credentials, which the emulator accepts.
"""

from __future__ import annotations

import logging
from typing import Any

from connect_chat.enums import ContentType
from connect_chat.errors import InvalidInputError
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

#: Instance and flow ids the emulator accepts (it accepts any; these just read well).
EMULATOR_INSTANCE_ID = "emulator-instance"
EMULATOR_CONTACT_FLOW_ID = "emulator-flow"


def start_chat_contact(
    *,
    instance_id: str,
    contact_flow_id: str,
    display_name: str = "Customer",
    region: str | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    attributes: dict[str, str] | None = None,
    emulator_credentials: bool = False,
    connect_timeout: float = 10.0,
) -> ChatDetails:
    """Call ``StartChatContact`` and return the new customer participant's details.

    ``region`` defaults to the AWS configuration's, else ``us-west-2``. With
    ``emulator_credentials`` the request is signed with dummy keys (for the emulator only).
    Raises botocore's ``NoCredentialsError`` before sending anything when no credentials are
    configured, and botocore's errors for what the service answers.
    """
    import botocore.config
    import botocore.exceptions
    import botocore.session

    for name, value in (
        ("instance_id", instance_id),
        ("contact_flow_id", contact_flow_id),
        ("display_name", display_name),
    ):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"{name} must be a non-empty string")
    session = botocore.session.Session(profile=profile)
    if emulator_credentials:
        session.set_credentials("emulator", "emulator")
    elif session.get_credentials() is None:
        raise botocore.exceptions.NoCredentialsError()
    region = region or session.get_config_variable("region") or "us-west-2"
    client = session.create_client(
        "connect",
        region_name=region,
        endpoint_url=endpoint_url,
        config=botocore.config.Config(
            connect_timeout=connect_timeout,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": 2},
        ),
    )
    request: dict[str, Any] = {
        "InstanceId": instance_id,
        "ContactFlowId": contact_flow_id,
        "ParticipantDetails": {"DisplayName": display_name},
        "SupportedMessagingContentTypes": list(SUPPORTED_MESSAGING_CONTENT_TYPES),
    }
    if attributes:
        request["Attributes"] = dict(attributes)
    logger.debug("StartChatContact instance=%s flow=%s", instance_id, contact_flow_id)
    answer = client.start_chat_contact(**request)
    logger.debug("StartChatContact started contact %s", answer.get("ContactId"))
    return ChatDetails(
        participant_token=answer["ParticipantToken"],
        contact_id=answer.get("ContactId"),
        participant_id=answer.get("ParticipantId"),
    )
