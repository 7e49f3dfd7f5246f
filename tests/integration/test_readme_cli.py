"""README's plain ``temporal`` CLI walkthrough works as written (commands parsed from README.md).

The commands run against this session's dev server with the API's codec server (real loopback
HTTP), only pointed at them: the binary, ``--address``, the codec URL and the interaction ids are
substituted and ``--output json`` added to read the answers, nothing else. So the JSON on the
wire that README documents is what the typed workflow boundary accepts.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import uuid
from pathlib import Path

import pytest
from temporalio.api.history.v1 import History

from api.app import create_api_app
from cli.stack import temporal_cli
from models.interaction import InteractionResult, Outcome, Reply
from runtime.codec import ENCODING
from runtime.history import iter_payloads
from simulators.server import serve_app
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Drive one interaction with the plain `temporal` CLI"
README_CODEC = "http://127.0.0.1:8700/codec"


def readme_commands() -> list[str]:
    """Every ``temporal`` command in the section's bash blocks, continuation lines joined."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) : text.index("\n### ", text.index(SECTION) + 1)]
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        joined = block.replace("\\\n", " ")
        commands += [line.strip() for line in joined.splitlines() if "temporal " in line]
    return commands


async def run(command: str, address: str, codec: str, ids: dict[str, str]) -> str:
    for readme_id, test_id in ids.items():
        command = command.replace(readme_id, test_id)
    argv = shlex.split(command.replace(README_CODEC, codec))
    assert argv[0] == ".venv/bin/temporal", argv[0]
    process = await asyncio.create_subprocess_exec(
        temporal_cli(),
        *argv[1:],
        "--address",
        address,
        "--output",
        "json",  # how it prints, for the test to read; not what it sends
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, f"{command}\n{err.decode()}"
    return out.decode()


def result_of(output: str) -> object:
    """What an update or query returned, from the command's JSON output."""
    printed = json.loads(output)
    keys = ("result", "queryResult", "updateResult")
    found = next((printed[key] for key in keys if key in printed), None)
    assert found is not None, sorted(printed)
    return found[0] if isinstance(found, list) else found


def test_the_readme_section_has_the_walkthrough() -> None:
    verbs = [" ".join(shlex.split(c)[1:3]) for c in readme_commands()]
    assert verbs == [
        "workflow start",
        "workflow update",
        "workflow query",
        "workflow signal",
        "workflow execute-update-with-start",
    ]


async def test_readme_temporal_commands_drive_an_interaction(stack: Stack) -> None:
    address = stack.client.service_client.config.target_host
    suffix = uuid.uuid4().hex[:8]
    ids = {"demo-1": f"readme-1-{suffix}", "demo-2": f"readme-2-{suffix}"}
    start, update, query, signal, update_with_start = readme_commands()
    # As `warmline dev` serves it: the login-less local UI and CLI may use the codec (audited).
    app = create_api_app(stack.store, stack.settings, temporal=stack.client, local_ui=True)
    async with serve_app(app) as api_url:
        codec = f"{api_url}/codec"
        await run(start, address, codec, ids)
        reply = Reply.model_validate(result_of(await run(update, address, codec, ids)))
        assert reply.turn == 2 and reply.message_id == "m-2" and reply.text
        # The CLI prints empty lists as null, so the status is read as plain JSON.
        status = result_of(await run(query, address, codec, ids))
        assert isinstance(status, dict) and status["turns"] == 2
        assert status["transcript"][0]["text"].startswith("I was charged twice")
        await run(signal, address, codec, ids)
        first = Reply.model_validate(result_of(await run(update_with_start, address, codec, ids)))
        assert first.turn == 1 and first.text

    handle = stack.client.get_workflow_handle(f"interaction-{ids['demo-1']}")
    result = await asyncio.wait_for(handle.result(), timeout=30)
    assert InteractionResult.model_validate(result).csat == 5
    assert InteractionResult.model_validate(result).outcome in set(Outcome)
    # The CLI encoded through the codec server: the input is ciphertext in history.
    history = History(events=(await handle.fetch_history()).events)
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert started.metadata["encoding"] == ENCODING
    assert all(b"charged twice" not in p.data for p in iter_payloads(history))
    await stack.client.get_workflow_handle(f"interaction-{ids['demo-2']}").terminate("test over")
