"""Every calculation a knowledge answer shows is recomputed with the billing engine, so the bot's knowledge
answer and its bill check can never disagree (the contract-demand example once said 28,560 where the engine,
and the rules, charge 27,360)."""

from __future__ import annotations

import ast
import operator
import re

import pytest

from analytics.billing.requests import compute_requests
from analytics.billing.schedule import load_tariff_book
from core.settings import REPO_ROOT
from knowledge.documents import Entry, WorkedExample, load_entries, load_topics

DATA = REPO_ROOT / "data"
ENTRIES = load_entries(DATA / "knowledge", load_topics(DATA))
BOOK = load_tariff_book(DATA / "tariffs")
MONEY_RESULT = re.compile(r"[=＝]\s*([\d,]+(?:\.\d+)?)\s*元")  # "…=86.08元": a computed amount of money
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# "200×1‰×10＝2元": an amount worked out by plain arithmetic, with the characters that may make it up
ARITHMETIC = re.compile(r"([\d.,×÷+\-−()（）%‰]+)\s*[=＝]\s*([\d,]+(?:\.\d+)?)\s*元")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def figure(lines: list[dict], name: str) -> float:
    """`total`, or `item[.filter…][:field]`: the sum of `field` (default amount) over the lines of `item` whose
    tier (`tier2`), period (`peak`) or basis (`demand_excess`) match every filter."""
    what, _, field = name.partition(":")
    item, *filters = what.split(".")
    chosen = [
        line
        for line in lines
        if line["item"] == item
        and all(f in (f"tier{line.get('tier')}", line.get("period"), line.get("basis")) for f in filters)
    ]
    assert chosen, f"no {what} line in the computed bill: {lines}"
    values = [float(line[field or "amount"]) for line in chosen]
    if field and field != "kwh":  # a rate or a factor: one value, not a sum
        assert len(set(values)) == 1, f"{name}: several values {values}"
        return values[0]
    return round(sum(values), 2)


def evaluate(expression: str) -> float:
    """The value of a written calculation ("200×1‰×10"); ValueError when it is not one."""
    text = expression.replace(",", "").replace("×", "*").replace("÷", "/").replace("−", "-")
    text = text.replace("（", "(").replace("）", ")").replace("‰", "*0.001").replace("%", "*0.01")

    def value(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return float(_OPS[type(node.op)](value(node.left), value(node.right)))
        raise ValueError(f"not a calculation: {expression!r}")

    try:
        return value(ast.parse(text, mode="eval").body)
    except SyntaxError as exc:
        raise ValueError(f"not a calculation: {expression!r}") from exc


def numbers_in(text: str) -> set[float]:
    return {float(n.replace(",", "")) for n in NUMBER.findall(text)}


WORKED = [(e, x) for e in ENTRIES for x in e.examples]


def test_some_entries_declare_worked_examples() -> None:
    assert len(WORKED) >= 8


@pytest.mark.parametrize(("entry", "example"), WORKED, ids=[e.id for e, _ in WORKED])
def test_each_stated_figure_is_what_the_engine_computes(entry: Entry, example: WorkedExample) -> None:
    [result] = compute_requests([{"id": entry.id, **example.request}], BOOK)
    assert "error" not in result, f"{entry.id}: its example request is invalid: {result.get('error')}"
    stated = numbers_in(entry.answer)
    for name, value in example.figures.items():
        computed = result["total"] if name == "total" else figure(result["lines"], name)
        assert computed == pytest.approx(value, abs=0.005), f"{entry.id}: {name} is {computed}, the entry says {value}"
        assert any(abs(value - n) < 0.005 for n in stated), f"{entry.id}: figure {name}={value} is not in its answer"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_every_computed_amount_in_an_answer_is_checked(entry: Entry) -> None:
    """An amount of money an answer works out ("…=86.08元") is either a figure of a declared bill example
    (recomputed by the engine above) or, for what is not a bill (a late fee), plain arithmetic that is right."""
    declared = {v for x in entry.examples for v in x.figures.values()}
    arithmetic = {float(result.replace(",", "")): expression for expression, result in ARITHMETIC.findall(entry.answer)}
    for amount in {float(a.replace(",", "")) for a in MONEY_RESULT.findall(entry.answer)}:
        if any(abs(amount - d) < 0.005 for d in declared):
            continue
        assert amount in arithmetic, f"{entry.id} computes {amount} without an `examples:` declaration to check it"
        assert evaluate(arithmetic[amount]) == pytest.approx(amount, abs=0.005), f"{entry.id}: {arithmetic[amount]}"


def test_written_calculations_are_evaluated() -> None:
    assert evaluate("200×1‰×10") == pytest.approx(2.0)
    assert evaluate("（0.90−0.86）×100×0.5%") == pytest.approx(0.02)
    assert evaluate("1,000÷4") == 250
    with pytest.raises(ValueError, match="not a calculation"):
        evaluate("2**10")
    with pytest.raises(ValueError, match="not a calculation"):
        evaluate("×5")


def test_the_figure_names_are_checked() -> None:
    lines = [
        {"item": "energy", "tier": 1, "period": "peak", "kwh": 96.0, "price": 0.568, "amount": 54.53},
        {"item": "energy", "tier": 2, "period": "peak", "kwh": 84.0, "price": 0.618, "amount": 51.91},
        {"item": "basic", "basis": "demand", "quantity": 500, "price": 48.0, "amount": 24000.0},
        {"item": "basic", "basis": "demand_excess", "quantity": 35, "price": 96.0, "amount": 3360.0},
    ]
    assert figure(lines, "energy") == 106.44
    assert figure(lines, "energy.tier2.peak") == 51.91
    assert figure(lines, "basic") == 27360.0
    assert figure(lines, "basic.demand_excess:quantity") == 35
    with pytest.raises(AssertionError, match="several values"):
        figure(lines, "energy:price")
    with pytest.raises(AssertionError, match="no funds line"):
        figure(lines, "funds")
