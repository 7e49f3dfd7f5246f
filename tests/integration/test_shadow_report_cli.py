"""``warmline fleet shadow-report`` through the real API as a fleet reader: the stored answers of
a shadow version judged with the bundled MiniLM, as a table and as JSON."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from typer.testing import CliRunner

from cli import fleet as fleet_cli
from models.ai import ShadowAnswer
from models.shadow import ShadowReport, ShadowVerdict
from tests.integration.conftest import Stack, StackApi

pytestmark = pytest.mark.integration

LIVE = "Your parcel left our warehouse yesterday and should arrive on Friday."
CLOSE = "The package shipped yesterday; you can expect it to arrive Friday."


async def test_a_fleet_reader_gets_the_shadow_report(stack: Stack, stack_api: StackApi) -> None:
    endpoint = f"report-bot:{uuid.uuid4().hex[:8]}"
    for i in range(4):
        answer = ShadowAnswer(
            interaction_id=f"report-{endpoint}-{i}",
            turn=1,
            endpoint=endpoint,
            live_model_version="report-bot:1",
            live_text=LIVE,
            shadow_text=CLOSE,
            shadow_action="reply",
            latency_ms=90.0,
        )
        await asyncio.to_thread(stack.store.record_shadow_answer, answer)
    env = stack_api.env("rm@example.com", "release_manager")

    async def run(*args: str) -> str:
        result = await asyncio.to_thread(
            CliRunner().invoke, fleet_cli.app, ["shadow-report", endpoint, *args], env=env
        )
        assert result.exit_code == 0, result.output
        return str(result.output)

    report = ShadowReport.model_validate(json.loads(await run("--min-answers", "3", "--json")))
    assert report.verdict is ShadowVerdict.PASSED and report.compared == 4
    assert report.mean_agreement is not None and report.mean_agreement > 0.6
    table = await run()  # the default minimum of 20 answers
    assert f"Shadow report: {endpoint}" in table and "inconclusive" in table
