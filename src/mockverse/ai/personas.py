"""Personas from a description: a spec (traits, backstory, lifecycle, orders) from the LLM or,
without one, from a deterministic template; then registered in the world and frozen.

The spec is what differs between the two paths; everything else (email, phone, street,
order dates, payments) is drawn by the same seeded code, so a persona is coherent across
``/users/{id}``, its orders, billing and support whichever path made it.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from datetime import datetime, timedelta

from faker import Faker

from mockverse.ai.provider import LLM, Artefacts
from mockverse.ids import stable_hash
from mockverse.problems import Problem
from mockverse.timeutil import format_rfc3339
from mockverse.world.engine import ConsistencyEngine
from mockverse.world.lifecycle import STATE_NAMES
from mockverse.world.model import EntityType

KIND = "persona"
MAX_ORDERS = 8
CADENCES = {"daily": 1, "weekly": 7, "fortnightly": 14, "monthly": 30, "quarterly": 91, "yearly": 365,
            "occasional": 60}

PERSONA_SCHEMA: dict = {
    "type": "object", "additionalProperties": False,
    "required": ["first_name", "last_name", "company", "occupation", "city", "country", "currency", "traits",
                 "backstory", "lifecycle_state", "failed_payment_count", "login_count", "cadence", "orders"],
    "properties": {
        "first_name": {"type": "string", "minLength": 1, "maxLength": 60},
        "last_name": {"type": "string", "minLength": 1, "maxLength": 60},
        "company": {"type": "string", "maxLength": 120},
        "occupation": {"type": "string", "minLength": 1, "maxLength": 80},
        "city": {"type": "string", "minLength": 1, "maxLength": 80},
        "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]},
        "traits": {"type": "array", "minItems": 1, "maxItems": 6,
                   "items": {"type": "string", "minLength": 1, "maxLength": 80}},
        "backstory": {"type": "string", "minLength": 1, "maxLength": 1200},
        "lifecycle_state": {"type": "string", "enum": STATE_NAMES},
        "failed_payment_count": {"type": "integer", "minimum": 0, "maximum": 10},
        "login_count": {"type": "integer", "minimum": 0, "maximum": 10000},
        "cadence": {"type": "string", "enum": list(CADENCES)},
        "orders": {"type": "array", "minItems": 0, "maxItems": MAX_ORDERS, "items": {
            "type": "object", "additionalProperties": False, "required": ["items"],
            "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 4, "items": {
                "type": "object", "additionalProperties": False, "required": ["product_name", "quantity", "unit_price"],
                "properties": {"product_name": {"type": "string", "minLength": 1, "maxLength": 80},
                               "quantity": {"type": "integer", "minimum": 1, "maximum": 5},
                               "unit_price": {"type": "number", "minimum": 1, "maximum": 250}}}}}}},
    },
}

SYSTEM = ("You invent one realistic customer persona of an online shop for a mock API, consistent with the "
          "user's description: where they live (city, ISO 3166 two-letter country, currency among USD, EUR, "
          "GBP), what they do, 2 to 5 short traits, a backstory of two or three sentences, their lifecycle "
          f"state (one of {', '.join(STATE_NAMES)}; PaymentFailed when payments failed, with "
          "failed_payment_count set to how many), how often they order, and their orders from oldest to newest "
          "(1 to 4 items each, products they would buy, unit prices in the currency).")

# -- the template fallback: keywords of the description ------------------------------------------
CITIES = {  # city -> (country, currency, Faker locale)
    "lyon": ("FR", "EUR", "fr_FR"), "paris": ("FR", "EUR", "fr_FR"), "marseille": ("FR", "EUR", "fr_FR"),
    "toulouse": ("FR", "EUR", "fr_FR"), "bordeaux": ("FR", "EUR", "fr_FR"), "lille": ("FR", "EUR", "fr_FR"),
    "berlin": ("DE", "EUR", "de_DE"), "munich": ("DE", "EUR", "de_DE"), "hamburg": ("DE", "EUR", "de_DE"),
    "madrid": ("ES", "EUR", "es_ES"), "barcelona": ("ES", "EUR", "es_ES"), "rome": ("IT", "EUR", "it_IT"),
    "milan": ("IT", "EUR", "it_IT"), "amsterdam": ("NL", "EUR", "nl_NL"), "lisbon": ("PT", "EUR", "pt_PT"),
    "dublin": ("IE", "EUR", "en_IE"), "brussels": ("BE", "EUR", "fr_FR"), "vienna": ("AT", "EUR", "de_AT"),
    "london": ("GB", "GBP", "en_GB"), "manchester": ("GB", "GBP", "en_GB"), "edinburgh": ("GB", "GBP", "en_GB"),
    "bristol": ("GB", "GBP", "en_GB"), "new york": ("US", "USD", "en_US"), "san francisco": ("US", "USD", "en_US"),
    "chicago": ("US", "USD", "en_US"), "austin": ("US", "USD", "en_US"), "seattle": ("US", "USD", "en_US"),
    "boston": ("US", "USD", "en_US"), "los angeles": ("US", "USD", "en_US"), "toronto": ("CA", "USD", "en_CA"),
    "sydney": ("AU", "USD", "en_AU"),
}
LOCALES = {"FR": "fr_FR", "DE": "de_DE", "ES": "es_ES", "IT": "it_IT", "NL": "nl_NL", "PT": "pt_PT",
           "IE": "en_IE", "AT": "de_AT", "GB": "en_GB", "CA": "en_CA", "AU": "en_AU"}
OCCUPATIONS = [  # (pattern, occupation, has a company, traits)
    (r"small[- ]business owner|business owner|shop ?owner|owns? a (?:small )?(?:shop|business)",
     "small-business owner", True, ["budget-conscious", "orders for the team"]),
    (r"developer|engineer|programmer", "software developer", False, ["tech-savvy", "researches before buying"]),
    (r"student", "student", False, ["price-sensitive", "mobile-first"]),
    (r"teacher", "teacher", False, ["plans ahead", "buys in bulk before term"]),
    (r"designer", "designer", False, ["cares about quality", "brand-aware"]),
    (r"nurse|doctor", "healthcare worker", False, ["shops at odd hours", "values fast delivery"]),
    (r"freelancer|consultant", "freelancer", True, ["expenses everything", "wants invoices"]),
    (r"parent|mother|father|\bmom\b|\bdad\b", "parent", False, ["orders for the household", "watches for deals"]),
    (r"retired|retiree", "retiree", False, ["loyal", "prefers email"]),
]
CATALOGUES = [  # (pattern, products with unit prices)
    (r"office suppl|stationery", [("A4 copy paper, 5 reams", 24.9), ("Black toner cartridge", 79.0),
                                  ("Ballpoint pens, box of 50", 12.5), ("Lever arch files, pack of 10", 18.0),
                                  ("Sticky notes, 12 pads", 9.9), ("Desk organiser", 22.0)]),
    (r"coffee|tea", [("Espresso beans 1kg", 21.0), ("Paper filters, 200", 6.5), ("Green tea, 100 bags", 8.9),
                     ("Milk frother", 39.0)]),
    (r"book|novel", [("Paperback novel", 12.0), ("Cookbook", 28.0), ("Hardback biography", 24.0),
                     ("Travel guide", 18.5)]),
    (r"electronic|gadget|tech", [("USB-C charger", 29.0), ("Wireless mouse", 34.0), ("Noise-cancelling headphones",
                                 199.0), ("HDMI cable", 11.0)]),
    (r"grocer|food", [("Olive oil 1l", 11.5), ("Pasta, 6 packs", 8.4), ("Coffee beans 500g", 12.9),
                      ("Oat milk, 6 cartons", 10.8)]),
    (r"cloth|fashion|shoe", [("Cotton t-shirt", 19.0), ("Running shoes", 119.0), ("Wool jumper", 69.0),
                             ("Socks, 5 pairs", 14.0)]),
    (r"\bpets?\b|\bdog\b|\bcat\b", [("Dry dog food 12kg", 54.0), ("Cat litter 10l", 13.5), ("Chew toy", 7.9),
                                    ("Pet bed", 45.0)]),
]
GENERAL = [("Notebook", 6.5), ("Water bottle", 18.0), ("Phone case", 15.0), ("Desk lamp", 42.0),
           ("Backpack", 59.0), ("Batteries, 12 pack", 9.5)]
EXTRA_TRAITS = ["reads reviews", "prefers email", "likes free shipping", "pays by card", "returns rarely",
                "shops on weekdays", "uses the mobile app", "loyal to a few brands"]
NUMBERS = {"no": 0, "zero": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "twice": 2, "three": 3,
           "thrice": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
COUNT = r"(\d+|no|zero|one|an?|single|two|twice|three|thrice|four|five|six|seven|eight|nine|ten)"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


def _catalogue(text: str) -> list[tuple[str, float]]:
    """The products a persona described by ``text`` (lower-cased) buys."""
    return next((c for pattern, c in CATALOGUES if re.search(pattern, text)), GENERAL)


def template_spec(description: str, seed: str) -> dict:
    """The persona spec from keywords of ``description``; the rest from Faker seeded by
    blake2b of (workspace seed, description). Same inputs, same spec."""
    text = " ".join(description.lower().split())
    city_key = next((c for c in sorted(CITIES, key=len, reverse=True) if re.search(rf"\b{c}\b", text)), None)
    country, currency, locale = CITIES[city_key] if city_key else ("US", "USD", "en_US")
    fake = Faker(locale)
    fake.seed_instance(stable_hash(seed, "persona", description))
    occupation, has_company, traits = "customer", False, list[str]()
    for pattern, name, employed, extra in OCCUPATIONS:
        if re.search(pattern, text):
            occupation, has_company, traits = name, employed, list(extra)
            break
    cadence = next((c for c in CADENCES if c != "occasional" and re.search(rf"\b{c}\b", text)), None)
    cadence = cadence or ("weekly" if re.search(r"every week|each week", text) else
                          "monthly" if re.search(r"every month|each month", text) else "occasional")
    failed = re.search(r"(?:failed|declined|bounced|rejected)\s+(?:(?:card|credit|debit|recent)\s+)*payments?"
                       r"|payments?\s+(?:that\s+)?(?:failed|declined|bounced)", text)
    how_many = re.search(rf"\b{COUNT}\s+(?:(?:more|recent|consecutive|card|credit|debit)\s+)*(?:failed|declined|"
                         rf"bounced|rejected)|\b{COUNT}\s+(?:(?:card|credit|debit)\s+)*payments?\s+(?:that\s+)?"
                         rf"(?:failed|declined|bounced)", text)
    word = (how_many.group(1) or how_many.group(2)) if how_many else None
    failed_count = min(99, _count(word) if word else 1) if failed else 0
    if re.search(r"\b(?:never|without|not)\b[^.,;]{0,24}(?:failed|declined|bounced|rejected)", text):
        failed_count = 0   # "never had a failed payment"
    if re.search(r"churned|cancell?ed (?:the|their|his|her) (?:account|subscription)|left the", text):
        state = "Churned"
    elif failed_count > 0:
        state = "PaymentFailed"
    elif re.search(r"churn risk|at risk|about to churn|thinking of leaving|inactive", text):
        state = "ChurnRisk"
    elif re.search(r"power user|heavy user|very active|frequent", text):
        state = "PowerUser"
    elif re.search(r"new signup|new sign-up|just signed up|new customer|signed up (?:yesterday|today|this week)", text):
        state = "NewSignup"
    elif re.search(r"upgrad", text):
        state = "UpgradePending"
    else:
        state = "Active"
    explicit = re.search(r"\b(\d+|two|three|four|five|six|seven|eight|nine|ten)\s+(?:\w+\s+)?orders?\b", text)
    if re.search(r"never (?:ordered|bought)|no orders", text):
        n_orders = 0
    elif explicit:
        n_orders = min(MAX_ORDERS, _count(explicit.group(1)))
    else:
        n_orders = {"NewSignup": 1, "PowerUser": 6, "Churned": 3, "ChurnRisk": 3}.get(state, 4)
    n_orders = max(n_orders, failed_count) if state == "PaymentFailed" else n_orders
    catalogue = _catalogue(text)
    orders = []
    for _ in range(min(n_orders, MAX_ORDERS)):
        picks = fake.random_elements(catalogue, length=fake.random_int(1, min(3, len(catalogue))), unique=True)
        orders.append({"items": [{"product_name": name, "quantity": fake.random_int(1, 5), "unit_price": price}
                                 for name, price in picks]})
    traits = (traits + [f"orders {cadence}" if cadence != "occasional" else "orders occasionally"]
              + list(fake.random_elements(EXTRA_TRAITS, length=1, unique=True)))
    first, last = fake.first_name(), fake.last_name()
    city = city_key.title() if city_key else fake.city()
    company = fake.company() if has_company else ""
    story = (f"{first} {last} is a {occupation} in {city}" + (f" running {company}" if company else "") +
             f" who orders {cadence if cadence != 'occasional' else 'now and then'}.")
    story += {"PaymentFailed": f" {_plural(failed_count, 'card payment')} failed recently and the account is past due.",
              "Churned": " They cancelled and have not ordered since.",
              "ChurnRisk": " They have been ordering less and might leave.",
              "PowerUser": " They are one of the shop's most active customers.",
              "NewSignup": " They signed up only days ago.",
              "UpgradePending": " They asked for an upgrade to a bigger plan."}.get(state, " A steady, happy customer.")
    logins = {"PowerUser": 150, "NewSignup": 1, "Churned": 0, "ChurnRisk": 2}.get(state, 12 + fake.random_int(0, 30))
    return {"first_name": first, "last_name": last, "company": company, "occupation": occupation, "city": city,
            "country": country, "currency": currency, "traits": traits, "backstory": story, "lifecycle_state": state,
            "failed_payment_count": failed_count, "login_count": logins, "cadence": cadence, "orders": orders}


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}".capitalize()


async def llm_spec(llm: LLM, description: str) -> dict:
    """The persona spec the LLM writes for ``description`` (schema-checked, repaired once)."""
    return await llm.complete_json(system=SYSTEM, prompt=f"Description: {description}", schema=PERSONA_SCHEMA,
                                   name=KIND)


# -- registration ----------------------------------------------------------------------------------
def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower()) or "user"


def coherent(spec: dict, description: str) -> dict:
    """``spec`` made coherent with its lifecycle state: a PaymentFailed persona has at least one failed
    payment, on at least one order (one bought from the described catalogue when it has none)."""
    if spec["lifecycle_state"] != "PaymentFailed" or (spec["failed_payment_count"] >= 1 and spec["orders"]):
        return spec
    orders = spec["orders"]
    if not orders:
        catalogue = _catalogue(" ".join(description.lower().split()))
        name, price = catalogue[stable_hash("persona-order", description) % len(catalogue)]
        orders = [{"items": [{"product_name": name, "quantity": 1, "unit_price": price}]}]
    return {**spec, "failed_payment_count": max(1, spec["failed_payment_count"]), "orders": orders}


def register(engine: ConsistencyEngine, workspace: str, spec: dict, description: str) -> dict:
    """Create the persona and its orders in ``workspace`` from ``spec``; the body describing it."""
    spec = coherent(spec, description)
    view = engine.view(workspace)
    persona_type = engine.personas.type if engine.personas is not None else None
    if persona_type is None:
        raise Problem(422, "No persona type", "this world has no persona entity type to register a persona as; "
                          "set consistency.personas.type", field="consistency.personas.type")
    fake = Faker(LOCALES.get(spec["country"], "en_US"))
    fake.seed_instance(stable_hash(engine.workspace_seed(workspace), "persona-fields", description))
    gap = timedelta(days=CADENCES[spec["cadence"]])
    state, orders = spec["lifecycle_state"], spec["orders"]
    now = view.now
    last = now - (timedelta(days=45) if state == "Churned" else timedelta(days=min(2, CADENCES[spec["cadence"]])))
    times = [last - gap * (len(orders) - 1 - i) for i in range(len(orders))]
    signup = (times[0] if times else now) - (timedelta(days=1) if state == "NewSignup" else timedelta(days=30))
    domain = (_ascii(spec["company"])[:24] + ".example") if spec["company"] else "example.com"
    person = {"first_name": spec["first_name"], "last_name": spec["last_name"],
              "name": f"{spec['first_name']} {spec['last_name']}",
              "email": f"{_ascii(spec['first_name'])}.{_ascii(spec['last_name'])}@{domain}",
              "phone": fake.phone_number(), "company": spec["company"],
              "address": {"street": fake.street_address(), "city": spec["city"], "postal_code": fake.postcode(),
                          "country": spec["country"]},
              "occupation": spec["occupation"], "traits": spec["traits"], "backstory": spec["backstory"],
              "created_at": format_rfc3339(signup)}
    props = persona_type.schema.get("properties") or {}
    # the fields the persona schema has (all of them in the built-in world), plus the persona's story
    person = {k: v for k, v in person.items() if k in props or k in ("occupation", "traits", "backstory")}
    user = view.create(persona_type, person)
    ref = f"{persona_type.name}:{user[persona_type.id_field] if persona_type.id_field in user else user['id']}"
    uid = ref.split(":", 1)[1]
    metadata = {"login_count": spec["login_count"], "failed_payment_count": spec["failed_payment_count"],
                "generated_from": "description"}
    engine.persona(workspace, ref).update_lifecycle_state(state, metadata)
    created = _orders(engine, workspace, persona_type.name, uid, spec, times)
    view = engine.view(workspace)
    handle = view.persona_handle(ref)
    body_user = view.get(persona_type, persona_type.parse_id(uid))
    return {"persona_id": ref, "workspace_id": workspace, "user": body_user,
            "lifecycle": {"state": handle.state.value, "metadata": handle.lifecycle.metadata},
            "orders": created,
            "links": _links(engine, persona_type, ref)}


def _links(engine: ConsistencyEngine, persona_type: EntityType, ref: str) -> dict[str, str]:
    """Where the persona is served: itself and its lifecycle; orders, billing and support in a
    world with orders under its personas (the built-in one)."""
    base = f"/{persona_type.segment}/{ref.split(':', 1)[1]}"
    links = {"user": base, "lifecycle": f"/api/v1/consistency/persona/{ref}/lifecycle"}
    order = engine.model.types.get("order")
    if order is not None and order.parent is persona_type:
        links.update(orders=f"{base}/orders", billing=f"{base}/billing", support=f"{base}/support")
    return links


def _orders(engine: ConsistencyEngine, workspace: str, persona_type: str, uid: str, spec: dict,
            times: list[datetime]) -> list[dict]:
    """The spec's orders with their items and one payment each; the latest
    ``failed_payment_count`` card payments failed (those orders pending)."""
    types = engine.model.types
    order, item, payment = types.get("order"), types.get("order_item"), types.get("payment")
    if order is None or item is None or order.parent is None or order.parent.name != persona_type \
            or item.relationship is None:
        return []
    failed = spec["failed_payment_count"] if spec["lifecycle_state"] == "PaymentFailed" else 0
    out = []
    for n, (entry, at) in enumerate(zip(spec["orders"], times, strict=True)):
        is_failed = n >= len(spec["orders"]) - failed
        status = "pending" if is_failed else "delivered"
        made = engine.create(workspace, "order", {"user_id": uid, "status": status, "currency": spec["currency"],
                                                  "created_at": format_rfc3339(at)})
        for line in entry["items"]:
            engine.create(workspace, "order_item", {"order_id": made["id"], **line, "currency": spec["currency"],
                                                    "created_at": format_rfc3339(at)})
        if payment is not None and payment.parent is order:
            engine.create(
                workspace,
                "payment",
                {
                    "order_id": made["id"],
                    "status": "failed" if is_failed else "succeeded",
                    "method": "card",
                    "currency": spec["currency"],
                    "created_at": format_rfc3339(at + timedelta(minutes=5)),
                },
            )
        out.append(made["id"])
    view = engine.view(workspace)
    return [{**(view.get(order, oid) or {}), "items": view.children(order, oid, item.relationship)} for oid in out]


class PersonaGenerator:
    """Generates, registers and freezes personas: one artefact per (workspace, description)."""

    def __init__(self, engine: ConsistencyEngine, llm: LLM | None, mode: str = "frozen") -> None:
        self.engine, self.llm = engine, llm
        self.artefacts = Artefacts(engine.store, mode)
        self.locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}   # one generation per description at a time

    async def generate(self, workspace: str, description: str) -> tuple[dict, bool]:
        """The persona body for ``description`` and whether it was made now (False: the frozen one)."""
        self.engine.view(workspace)  # a bad workspace name fails before anything is generated
        key = Artefacts.key(description)
        slot = (workspace, key)
        lock, users = self.locks.get(slot, (asyncio.Lock(), 0))
        self.locks[slot] = (lock, users + 1)
        try:
            async with lock:
                return await self._generate(workspace, description, key)
        finally:
            lock, users = self.locks[slot]
            if users == 1:
                del self.locks[slot]   # only descriptions being generated right now hold a lock
            else:
                self.locks[slot] = (lock, users - 1)

    async def _generate(self, workspace: str, description: str, key: str) -> tuple[dict, bool]:
        """The frozen persona, or a new one from the LLM (or the template) registered and frozen now."""
        frozen = self.artefacts.get(workspace, KIND, key)
        if frozen is not None:
            return frozen, False
        if self.llm is not None:
            spec, by = await llm_spec(self.llm, description), "llm"
        else:
            spec, by = template_spec(description, self.engine.workspace_seed(workspace)), "template"
        body = {"generated_by": by, "model": self.llm.config.model if self.llm is not None else None,
                "description": description, **register(self.engine, workspace, spec, description)}
        self.artefacts.put(workspace, KIND, key, body)
        return body, True

__all__ = ["PERSONA_SCHEMA", "PersonaGenerator", "llm_spec", "register", "template_spec"]
