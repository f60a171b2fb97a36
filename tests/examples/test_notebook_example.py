"""examples/notebook.ipynb, executed headless: it chats live and shows the transcript as a table."""

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


def test_the_notebook_runs_and_renders_the_transcript_as_a_table() -> None:
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
    table = next(
        o["data"]["text/html"]
        for c in code
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    )
    assert table.startswith("<table>")
    for text in ("Hello! Is my parcel on its way?", "Great, thank you!", "Anything else?"):
        assert text in table
