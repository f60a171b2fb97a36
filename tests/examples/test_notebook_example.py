"""examples/notebook.ipynb, executed headless with nbclient: it chats live and shows the
transcript as a chat picture (HTML, no JavaScript)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.examples.support import EXAMPLES

nbformat = pytest.importorskip("nbformat", reason="needs nbformat (the dev extra)")
nbclient = pytest.importorskip("nbclient", reason="needs nbclient (the dev extra)")
pytest.importorskip("ipykernel", reason="needs ipykernel (the dev extra)")


def outputs_of(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts.append(data.get("text/plain", ""))
        parts.append(data.get("text/html", ""))
    return "\n".join(parts)


def test_the_notebook_runs_and_renders_the_transcript_as_a_chat() -> None:
    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors == []
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "Sam: Hi Ann! Yes, it left the warehouse this morning." in outputs_of(code[2])
    chats = [
        o["data"]["text/html"]
        for c in code
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert len(chats) == 2  # session.transcript, and the service's page
    for chat in chats:
        assert '<div class="cc-chat">' in chat and "<table" not in chat
        assert "<script" not in chat.lower()
        # The customer's messages on one side, with ticks; the others on the other side.
        assert '<div class="cc-row cc-me">' in chat and '<div class="cc-row cc-them">' in chat
        for text in ("Hello! Is my parcel on its way?", "Great, thank you!", "Anything else?"):
            assert text in chat
        assert "Sam (agent)" in chat and ">Ann<" in chat
        # The file and the bot's question shown for what they are, not as JSON.
        assert "shipping-label.pdf" in chat and "templateType" not in chat
        assert '<div class="cc-title">Was this helpful?</div>' in chat
        assert '<span class="cc-option">Yes</span><span class="cc-option">No</span>' in chat
        assert "Sam joined the chat" in chat
    live = chats[0]
    assert 'class="cc-tick cc-tick-read"' in live  # the agent read the first message
    assert 'class="cc-tick cc-tick-sent"' in live or 'cc-tick-delivered' in live
