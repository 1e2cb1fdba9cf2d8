"""`support-agent export-scenario`: a conversation recorded with the scripted model on the demo store
is exported (each message's recorded understanding as the turn's `understand:`), loaded by the
scenario loader and replayed by the eval runner, and passes. No LLM."""

from __future__ import annotations

import re

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

import agent.cli
from agent.models.scripted import ScriptedModel
from agent.support_agent import SupportAgent
from agent_harness import NO, NOW, YES, demo_db, make_agent, understood
from evals.export import export_conversation
from evals.recorded import TimeShift
from evals.runner import run_suite
from evals.scenario import load_file
from tools.store import Store


@pytest.fixture(autouse=True)
def only_this_command(monkeypatch):
    """Test this command on its own, whatever state the other subcommands are in."""
    monkeypatch.setattr(agent.cli, "COMMANDS", {"export-scenario": agent.cli.COMMANDS["export-scenario"]})


def export_cli(capsys, *argv) -> tuple[int, str, str]:
    code = agent.cli.main(["export-scenario", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def replayed(path: Path):
    """The file's scenarios run by the eval runner in replay mode, as `support-agent eval FILE` does."""
    scenarios = load_file(path)
    result = run_suite(scenarios, model="replay")
    failures = [(r.scenario, f.check, f.message) for r in result.results for f in r.failures + r.violations]
    return scenarios, result, failures


GET_W1003 = understood("get_order", "W1003")
CANCEL_W1001 = understood("cancel_order", "W1001", reason="wrong size")


def cancel_conversation(tmp_path: Path) -> tuple[Path, str]:
    """Jane verifies and asks where W1003 is, asks to cancel W1001 and presses the confirm button."""
    agent, _ = make_agent(tmp_path, [GET_W1003, CANCEL_W1001])
    session = agent.session()
    session.send("Hi, I'm jane.doe@example.com, zip 94107. Where is W1003?")
    reply = session.send("Please cancel W1001, wrong size.")
    assert reply.pending_action is not None
    session.confirm(reply.pending_action.id)
    agent.store.close()
    return tmp_path / "store.db", session.id


# ---- the round trip -----------------------------------------------------------------------------------


def test_exported_conversation_replays_and_passes(tmp_path, capsys):
    db, conversation = cancel_conversation(tmp_path)
    out = tmp_path / "exported.yaml"
    code, _, err = export_cli(capsys, conversation, "--db", str(db), "--out", str(out))
    assert code == 0, err
    assert "Replay check passed" in err

    (scenario,), result, failures = replayed(out)
    assert failures == [] and result.all_passed
    # the id is the conversation id as a slug: every run of characters other than a-z0-9 becomes one "-"
    # (token_urlsafe ids hold "_" and "-", sometimes side by side)
    assert scenario.id == "conv-" + "-".join(filter(None, re.split(r"[^a-z0-9]+", conversation.lower())))
    assert "kind:happy" in scenario.tags and "tool:cancel_order" in scenario.tags
    turns = scenario.customer.turns
    assert [t.kind for t in turns] == ["say", "say", "confirm"] and turns[2].confirm == "cancel_order"
    assert turns[0].say.startswith("Hi, I'm jane.doe@example.com")
    assert turns[0].understand == GET_W1003  # the model's own output, as recorded
    assert turns[1].understand == CANCEL_W1001
    assert turns[2].understand is None  # a button press takes no model step
    assert "understand: {lang: en, requests: [{kind: get_order, order: W1003}]}" in out.read_text()

    expect = scenario.expect
    assert expect.verified_as == "C0001"
    assert any(t.tool == "cancel_order" and t.phase == "execute" and t.status == "ok" and t.args == {"order_id": "W1001"}
               for t in expect.tool_calls)
    (order,) = [c for c in expect.db.changed if c.table == "orders"]
    assert order.where == {"id": "W1001"} and order.set["status"] == "cancelled" and order.set["cancelled_at"] == "now"
    assert any(c.table == "variants" and c.set == {"stock": {"delta": 1}} for c in expect.db.changed)
    (refund,) = expect.db.added
    assert refund.table == "refunds" and refund.match["order_id"] == "W1001" and refund.match["amount_cents"] == 11623
    assert "id" not in refund.match  # a generated id differs between runs

    text = out.read_text()
    assert text.startswith("# Exported by `support-agent export-scenario` from conversation")
    assert "# Starter expectations: what HAPPENED" in text


def test_prints_the_scenario_without_out(tmp_path, capsys):
    db, conversation = cancel_conversation(tmp_path)
    code, out, err = export_cli(capsys, conversation[:8], "--db", str(db), "--id", "jane-cancels-w1001")
    assert code == 0, err
    (scenario,) = yaml.safe_load(out)
    assert scenario["id"] == "jane-cancels-w1001" and scenario["customer"]["turns"][2] == {"confirm": "cancel_order"}


def test_help_question_garbled_output_and_spoken_answers_round_trip(tmp_path, capsys):
    """A help question, a proposal declined with "no", output of the model that was not JSON (the
    customer was asked again), and a proposal confirmed with "是的"."""
    changed_mind = understood("cancel_order", "W1001", reason="I changed my mind")
    agent, _ = make_agent(tmp_path, [
        understood("track_shipment", "W1003"), understood("question", topic="reset password"),
        CANCEL_W1001, NO, "{not json", changed_mind, YES])
    session = agent.session()
    session.send("Hi, I'm jane.doe@example.com, zip 94107. Where is W1003?")
    session.send("How do I reset my password?")
    session.send("Cancel W1001, wrong size.")
    session.send("no")
    session.send("asdf qwer")
    session.send("Actually yes, cancel W1001, I changed my mind.")
    assert session.send("是的").pending_action is None
    audit = agent.store.all("SELECT tool, phase, status FROM audit_log WHERE conversation_id = ?", (session.id,))
    assert ("understand", "understand", "error") in [tuple(a.values()) for a in audit]
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "cancelled"
    agent.store.close()

    result = export_conversation(Store(tmp_path / "store.db"), session.id)
    assert result.passed, result.check.failures
    assert [n for n in result.notes if n.startswith("turn 5: the understanding step went wrong")]
    assert not [n for n in result.notes if "differ" in n]  # every reply and tool outcome as recorded
    out = tmp_path / "exported.yaml"
    out.write_text(result.yaml)
    (scenario,), _, failures = replayed(out)
    assert failures == []
    turns = scenario.customer.turns
    assert [t.say for t in turns][3:] == ["no", "asdf qwer", "Actually yes, cancel W1001, I changed my mind.", "是的"]
    assert [t.understand for t in turns][1:] == [
        understood("question", topic="reset password"), CANCEL_W1001, NO,
        {"lang": "en", "requests": [{"kind": "clarify"}]},  # what the runtime made of the garbled output
        changed_mind, YES]
    assert any(t.tool == "search_help_center" and t.status == "ok" for t in scenario.expect.tool_calls)
    assert any(t.tool == "cancel_order" and t.phase == "decline" for t in scenario.expect.tool_calls)
    assert any(t.tool == "cancel_order" and t.phase == "execute" and t.status == "ok"
               for t in scenario.expect.tool_calls)


def test_a_session_bound_by_the_operator_starts_with_a_verification(tmp_path, capsys):
    agent, _ = make_agent(tmp_path, [understood("get_order", "W1002")])
    session = agent.session()
    session.bind_customer("jane.doe@example.com")  # `support-agent chat --customer`
    session.send("Tell me about W1002.")
    agent.store.close()

    result = export_conversation(Store(tmp_path / "store.db"), session.id)
    assert result.passed, result.check.failures
    assert any("bound to jane.doe@example.com" in n for n in result.notes)
    scenario = yaml.safe_load(result.yaml)[0]
    assert scenario["customer"]["turns"][0] == {"say": "Hi, I'm jane.doe@example.com, zip 94107.",
                                                "understand": {"lang": "en", "requests": [{"kind": "login"}]}}
    assert scenario["customer"]["turns"][1]["understand"] == understood("get_order", "W1002")
    assert scenario["expect"]["verified_as"] == "C0001"


# ---- a store built at another time --------------------------------------------------------------------


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def test_a_store_built_at_another_time_moves_the_clock_and_the_dates(tmp_path, capsys):
    """The developer's store was built 200 days and 5 hours before the evaluation's reference time and
    the chat happened 3 hours after that: the scenario's clock is +3h, and the date the customer wrote
    (in their message and in the reason the understanding cites from it) is the evaluation's date;
    the tools' dates in the replies move with the store, so every reply replays as recorded."""
    from fixtures import build_demo_store

    built = NOW - timedelta(days=200, hours=5)
    store = build_demo_store(tmp_path / "dev.db", seed=7, now=built)
    today = built + timedelta(hours=3)
    said = f"I ordered it by mistake on {MONTHS[today.month - 1]} {today.day}"
    model = ScriptedModel([GET_W1003, understood("cancel_order", "W1001", reason=said)])
    agent = SupportAgent(store, model=model, clock=lambda: today)
    session = agent.session()
    recorded = session.send("Hi, I'm jane.doe@example.com, zip 94107. When did I order W1003?").text
    placed = store.one("SELECT placed_at FROM orders WHERE id = 'W1003'")["placed_at"][:10]
    assert placed in recorded
    assert session.send(f"Please cancel W1001, {said}.").pending_action is not None
    store.close()

    result = export_conversation(Store(tmp_path / "dev.db"), session.id)
    assert result.passed, result.check.failures
    assert not [n for n in result.notes if "differ" in n], result.notes  # the tools' dates moved too
    out = tmp_path / "exported.yaml"
    out.write_text(result.yaml)
    (scenario,), _, failures = replayed(out)
    assert failures == []
    assert scenario.clock == "+3h"
    moved = f"I ordered it by mistake on November {NOW.day}"
    cancel = scenario.customer.turns[1]
    assert moved in cancel.say and cancel.understand["requests"][0]["reason"] == moved
    assert scenario.expect.db.changed == []  # the cancellation was only proposed
    (preview,) = [t for t in scenario.expect.tool_calls if t.tool == "cancel_order"]
    assert preview.phase == "preview" and preview.status == "needs_confirmation"


def test_time_shift_rewrites_written_dates_in_their_own_style():
    from datetime import date

    shift = TimeShift(dates={date(2026, 5, 7): date(2026, 11, 21), date(2026, 5, 1): date(2026, 11, 15)})
    assert shift.text("Placed 2026-05-07, shipped May 7th, 2026; due 1 May.") == \
        "Placed 2026-11-21, shipped November 21st, 2026; due 15 November."
    assert shift.text("Since Mar 3 and on 2026-05-08") == "Since Mar 3 and on 2026-05-08"  # not a recorded date


# ---- what the replay cannot reproduce --------------------------------------------------------------------


def test_an_earlier_conversations_change_is_reported_and_the_check_fails(tmp_path, capsys):
    db, _ = cancel_conversation(tmp_path)  # W1001 is cancelled by this first conversation
    agent = SupportAgent(db, model=ScriptedModel([CANCEL_W1001]), clock=lambda: NOW + timedelta(minutes=5))
    session = agent.session()
    session.send("I'm jane.doe@example.com, zip 94107. Cancel W1001, wrong size.")
    agent.store.close()

    out = tmp_path / "second.yaml"
    code, _, err = export_cli(capsys, session.id, "--db", str(db), "--out", str(out))
    assert code == 1 and "Replay check failed" in err
    assert "confirmed in earlier conversations" in err and "store.patches" in err
    text = out.read_text()
    assert "# Replay check: FAILED" in text
    load_file(out)  # still a valid scenario file, for the developer to fix


# ---- listing and the command line ------------------------------------------------------------------------


def test_list_shows_recent_conversations(tmp_path, capsys):
    db, conversation = cancel_conversation(tmp_path)
    code, out, _ = export_cli(capsys, "--list", "--db", str(db))
    assert code == 0
    assert conversation in out and "jane.doe@example.com" in out and "Where is W1003?" in out
    assert "2026-11-23T18:00:00Z" in out


def test_list_without_conversations(tmp_path, capsys):
    code, _, err = export_cli(capsys, "--list", "--db", str(demo_db(tmp_path)))
    assert code == 0 and "No conversations" in err


def test_usage_errors(tmp_path, capsys):
    db, conversation = cancel_conversation(tmp_path)
    assert export_cli(capsys, "--db", str(db))[0] == 2  # no id
    code, _, err = export_cli(capsys, "s_nope", "--db", str(db))
    assert code == 2 and "not a conversation" in err
    code, _, err = export_cli(capsys, conversation, "--db", str(tmp_path / "missing.db"))
    assert code == 2 and not (tmp_path / "missing.db").exists()
    code, _, err = export_cli(capsys, conversation, "--db", str(db), "--id", "Not An Id")
    assert code == 2 and "scenario id" in err


def test_out_is_never_overwritten_silently_and_append_adds(tmp_path, capsys):
    db, conversation = cancel_conversation(tmp_path)
    out = tmp_path / "regressions.yaml"
    assert export_cli(capsys, conversation, "--db", str(db), "--out", str(out), "--id", "first")[0] == 0
    code, _, err = export_cli(capsys, conversation, "--db", str(db), "--out", str(out), "--id", "second")
    assert code == 2 and "--append" in err
    assert export_cli(capsys, conversation, "--db", str(db), "--out", str(out), "--id", "first", "--append")[0] == 2
    assert export_cli(capsys, conversation, "--db", str(db), "--out", str(out), "--id", "second", "--append")[0] == 0
    scenarios, _, failures = replayed(out)
    assert [s.id for s in scenarios] == ["first", "second"] and failures == []
    assert export_cli(capsys, conversation, "--db", str(db), "--out", str(out), "--id", "third", "--force")[0] == 0
    assert [s.id for s in load_file(out)] == ["third"]


def test_a_conversation_on_a_postgresql_store_exports_and_replays(postgres_server, tmp_path, capsys):
    from pg_harness import demo_postgres_store

    url = demo_postgres_store(postgres_server)  # the demo store at NOW; the records in the same database
    agent = SupportAgent(url, model=ScriptedModel([GET_W1003, CANCEL_W1001]), clock=lambda: NOW)
    session = agent.session()
    session.send("Hi, I'm jane.doe@example.com, zip 94107. Where is W1003?")
    session.confirm(session.send("Please cancel W1001, wrong size.").pending_action.id)
    agent.store.close()
    agent.records.db.close()

    code, out, _ = export_cli(capsys, "--list", "--store", url)
    assert code == 0 and session.id in out and "jane.doe@example.com" in out
    exported = tmp_path / "exported.yaml"
    code, _, err = export_cli(capsys, session.id, "--store", url, "--out", str(exported))
    assert code == 0 and "Replay check passed" in err, err
    (scenario,), result, failures = replayed(exported)
    assert failures == [] and result.all_passed
    assert [t.kind for t in scenario.customer.turns] == ["say", "say", "confirm"]
    assert "postgresql://postgres@127.0.0.1" in exported.read_text().splitlines()[0]
