"""Locust storefront mix for `bench/load.py` (run headless by it; not a benchmark of its own).

Each simulated shopper belongs to one of the dataset's three channels (round robin) and, with
the weights below, browses the product list (with a rotating filter) and product pages, asks
for availability, quotes a basket, places an order with an Idempotency-Key (a share of the
baskets carry the one hot SKU, whose little stock all channels compete for) and reads its
orders back. A `409 insufficient_stock` answer to an order is an expected outcome, not an
error; every other non-2xx answer is a failure. One placed order in ten is sent again with the
same Idempotency-Key and must come back with the same order number.

Environment: LOAD_DATASET (JSON written by bench/load.py), LOAD_OUTCOMES (where to write the
order outcome counts at exit), LOAD_HOT_SHARE (share of baskets with the hot SKU, default 0.4).
"""

import itertools
import json
import os
import random
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task

DATASET = json.loads(Path(os.environ["LOAD_DATASET"]).read_text())
HOT_SHARE = float(os.environ.get("LOAD_HOT_SHARE", "0.4"))
OUTCOMES: Counter = Counter()
_channel_turn = itertools.count()


@events.quitting.add_listener
def _write_outcomes(environment, **kwargs):
    path = os.environ.get("LOAD_OUTCOMES")
    if path:
        Path(path).write_text(json.dumps(dict(OUTCOMES)))


class Shopper(FastHttpUser):
    wait_time = between(0.05, 0.5)

    def on_start(self):
        self.channel = DATASET["channels"][next(_channel_turn) % len(DATASET["channels"])]
        self.auth = {"Authorization": f"Api-Key {self.channel['key']}"}
        self.rng = random.Random()
        self.orders: list[str] = []
        self.email = f"shopper{self.rng.randrange(2000)}@example.com"

    # --- helpers --------------------------------------------------------------------------

    def _call(self, method: str, path: str, name: str, *statuses: int, check=None, **kwargs):
        """Send one request, reported under `name`: a success when its status is one of
        `statuses` and `check(response)` (if given) names no problem, else a failure with the
        status and the start of the body. Returns the response, or None when it failed."""
        headers = {**self.auth, **kwargs.pop("headers", {})}
        with self.client.request(
            method, path, headers=headers, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code not in statuses:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                return None
            problem = check(response) if check else None
            if problem:
                response.failure(problem)
                return None
            response.success()
            return response

    def _basket(self) -> list[dict]:
        skus = self.rng.sample(self.channel["skus"], self.rng.choice([1, 2, 3]))
        lines = [{"sku": sku, "quantity": self.rng.choice([1, 1, 2])} for sku in skus]
        if self.rng.random() < HOT_SHARE:
            lines[0] = {"sku": DATASET["hot_sku"], "quantity": 1}
        return lines

    # --- the mix ----------------------------------------------------------------------------

    @task(5)
    def browse_list(self):
        params = {"page_size": 20}
        pick = self.rng.randrange(5)
        if pick == 1:
            params["category"] = self.rng.choice(DATASET["categories"])
        elif pick == 2:
            params["search"] = self.rng.choice(DATASET["search_words"])
        elif pick == 3:
            params["in_stock"] = "true"
        elif pick == 4:
            params["ordering"] = "price"
        self._call("GET", f"/api/v1/products/?{urlencode(params)}", "GET /products/", 200)

    @task(4)
    def product_detail(self):
        product = self.rng.choice(self.channel["product_ids"])
        self._call("GET", f"/api/v1/products/{product}/", "GET /products/{id}/", 200)

    @task(3)
    def availability(self):
        skus = [DATASET["hot_sku"], *self.rng.sample(self.channel["skus"], 2)]
        query = urlencode([("sku", sku) for sku in skus])
        self._call("GET", f"/api/v1/availability/?{query}", "GET /availability/", 200)

    @task(2)
    def quote(self):
        body = {"lines": self._basket(), "customer": {"email": self.email}}
        self._call("POST", "/api/v1/quotes/", "POST /quotes/", 200, json=body)

    @task(2)
    def place_order(self):
        body = {
            "customer": {"email": self.email},
            "lines": self._basket(),
            "payment": {"status": "authorized", "reference": "load"},
        }
        if self.channel["pickup"] and self.rng.random() < 0.2:
            body["fulfilment"] = {"method": "pickup", "pickup_location": self.channel["pickup"]}
        else:
            body["fulfilment"] = {
                "method": "ship",
                "address": {"line1": "1 Load St", "city": "Testville", "country": "US"},
            }
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        response = self._call(
            "POST", "/api/v1/orders/", "POST /orders/", 201, 409,
            json=body, headers=headers, check=_only_refused_for_stock,
        )  # fmt: skip
        if response is None:
            return
        if response.status_code == 409:
            OUTCOMES["refused_insufficient_stock"] += 1
            hot = any(line["sku"] == DATASET["hot_sku"] for line in body["lines"])
            OUTCOMES["refused_hot" if hot else "refused_other"] += 1
            return
        number = response.json()["number"]
        OUTCOMES["placed"] += 1
        self.orders.append(number)
        if self.rng.random() < 0.1:

            def same_order(replay) -> str | None:
                if replay.json().get("number") != number:
                    return "replay of an Idempotency-Key gave another order"
                return None

            replay = self._call(
                "POST", "/api/v1/orders/", "POST /orders/ (replay)", 200, 201,
                json=body, headers=headers, check=same_order,
            )  # fmt: skip
            if replay is not None:
                OUTCOMES["replays_same_order"] += 1

    @task(2)
    def read_order(self):
        if not self.orders:
            return self.browse_list()
        number = self.rng.choice(self.orders)
        self._call("GET", f"/api/v1/orders/{number}/", "GET /orders/{number}/", 200)


def _only_refused_for_stock(response) -> str | None:
    """A 409 is an expected answer only when the stock ran out (`insufficient_stock`)."""
    if response.status_code != 409:
        return None
    try:
        code = response.json().get("code", "")
    except ValueError:
        code = ""
    if code == "insufficient_stock":
        return None
    return f"409: {(response.text or '')[:200]}"
