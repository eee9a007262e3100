"""How the tracker follows a Mint instance, and the faulted/cancelled digest."""

from __future__ import annotations

import time
from typing import Any

from adapters.errors import VendorError
from adapters.mint import FlowStatus, Instance, MintClient, failing_step, parse_status
from bot.digests import DigestKind
from bot.messages import Message
from bot.store.digests import Subscription
from bot.tracking import FAILED, SUCCEEDED, JobKind, PollResult, TrackedJob
from handlers.mint import blocks

KEY = "mint"
# The instance stops needing us in any of these (Suspended waits for a person).
ENDED = {FlowStatus.FINISHED, FlowStatus.FAULTED, FlowStatus.CANCELLED, FlowStatus.SUSPENDED}


async def to_poll(client: MintClient, instance: Instance) -> PollResult:
    result: dict = {"instance": instance.model_dump(mode="json", by_alias=True)}
    outcome = None
    if instance.status in ENDED:
        outcome = SUCCEEDED if instance.status == FlowStatus.FINISHED else FAILED
    if instance.status == FlowStatus.FAULTED and instance.id:
        try:
            step = failing_step(await client.execution_log(instance.id))
        except VendorError:
            step = None
        if step is not None:
            result["failing_step"] = {"name": step.step_name, "message": blocks._fault_text(step)}
    return PollResult(
        status=instance.status_text.lower(),
        outcome=outcome,
        vendor_job_id=instance.id,
        result=result,
    )


def step_outputs(job: TrackedJob) -> dict[str, Any] | None:
    """The ``mint_execute`` step's outputs: instance_id, status (Finished, Faulted,
    Cancelled or Suspended) and failed_step (empty unless Faulted). None for an execution
    Mint never said the end of."""
    if job.ended_without_answer:
        return None
    result = job.result or {}
    instance = result.get("instance") or {}
    try:
        status = str(parse_status(instance.get("status")).value)
    except ValueError:
        status = str(instance.get("status") or job.vendor_status or "")
    failed = result.get("failing_step") or {}
    return {
        "instance_id": job.vendor_job_id or str(instance.get("id") or ""),
        "status": status,
        "failed_step": str(failed.get("name") or "") if status == FlowStatus.FAULTED else "",
    }


def job_kind(client: MintClient) -> JobKind:
    async def poll(job: TrackedJob) -> PollResult:
        assert job.vendor_job_id, "a tracked Mint execution always has its instance id"
        return await to_poll(client, await client.get_instance(job.vendor_job_id))

    return JobKind(
        vendor=KEY,
        poll=poll,
        card=blocks.job_card,
        thread_notice=blocks.thread_notice,
        step_outputs=step_outputs,
    )


def digest_kind(client: MintClient, title: str) -> DigestKind:
    async def fetch(sub: Subscription, since: float) -> list[Instance]:
        found: list[Instance] = []
        for status in (FlowStatus.FAULTED, FlowStatus.CANCELLED):
            found += await client.instances(status, limit=100)
        return found

    def render(
        sub: Subscription, data: list[Instance], since: float, forced: bool
    ) -> Message | None:
        def moment(inst: Instance) -> float:
            when = inst.ended or inst.started
            return when.timestamp() if when else time.time()

        new = [inst for inst in data if moment(inst) > since]
        if not new and not forced:
            return None
        return blocks.digest(sorted(new, key=moment), since=since)

    return DigestKind(KEY, title, lambda sub: "all", fetch, render)
