"""HTTP webhook sink: POST each event as a JSON body; a 2xx answer means delivered."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from fence.sinks.worker import Delivery
from fence.store import OutboxItem


class WebhookDeliverer:
    """POSTs events one by one, in order, stopping at the first failure."""

    def __init__(self, name: str, url: str, headers: Mapping[str, str], timeout_s: float) -> None:
        self.name = name
        self.url = url
        self.headers = {"Content-Type": "application/json", **headers}
        self.timeout_s = timeout_s

    def _post(self, item: OutboxItem) -> str | None:
        request = urllib.request.Request(
            self.url,
            data=item.line.encode(),
            headers={**self.headers, "X-Fence-Event-Id": item.event_id},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = int(response.status)
                response.read()
        except urllib.error.HTTPError as exc:
            return f"{self.url}: HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return f"{self.url}: {exc}"
        if not 200 <= status < 300:
            return f"{self.url}: HTTP {status}"
        return None

    def deliver(self, items: Sequence[OutboxItem]) -> Delivery:
        """POST each row; report how many went through before the first failure."""
        for done, item in enumerate(items):
            error = self._post(item)
            if error is not None:
                return Delivery(done, error)
        return Delivery(len(items))

    def idle(self) -> None:
        """Nothing to do between batches."""

    def close(self) -> None:
        """Each request has its own connection; nothing to release."""
