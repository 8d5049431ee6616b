"""One real network per test module: registry and seller node as subprocesses, a buyer app in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.seller.node.harness import Bap, Proc, Seller, seeded_network


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, Seller, Bap]]:
    with seeded_network(tmp_path_factory.mktemp("net")) as parts:
        yield parts
