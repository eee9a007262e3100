"""Giving listeners their dependencies without hiding their signature from Bolt."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from handlers.deps import Deps


def bind(listener: Callable[..., Awaitable[Any]], deps: Deps) -> Callable[..., Awaitable[Any]]:
    """Bolt injects positional parameters by name (following __wrapped__); ``deps`` is
    keyword-only in our listeners, so Bolt ignores it and we supply it here."""

    @functools.wraps(listener)
    async def bound(**kwargs: Any) -> Any:
        return await listener(deps=deps, **kwargs)

    return bound
