"""What the runtime decides without the model, or instead of a small model's slip: greetings, where a
question goes before verification, tracking vs order lookups, invented addresses and phone numbers."""

from agent import replies
from agent_harness import make_agent, tool_events, verified_session

PLACEHOLDER_LOGIN = {"tool": "verify_customer", "arguments": {"email": "your_email@example.com", "zip_code": "12345"}}


def test_a_greeting_is_answered_without_a_model_step(tmp_path):
    agent, model = make_agent(tmp_path, [])
    reply = agent.session().send("Hello there!")
    assert reply.text == replies.GREETING and model.requests == []


def test_an_invented_login_for_a_request_asks_to_verify(tmp_path):
    agent, model = make_agent(tmp_path, [PLACEHOLDER_LOGIN])
    reply = agent.session().send("show me all my orders")
    assert reply.text == replies.ASK_LOGIN and "verify" in reply.text


def test_a_general_question_before_verification_goes_to_the_help_center(tmp_path):
    agent, model = make_agent(tmp_path, [PLACEHOLDER_LOGIN, "We ship to Canada in 7-14 business days."])
    reply = agent.session().send("Do you ship to Canada?")
    assert [e["tool"] for e in tool_events(reply)] == ["verify_customer", "search_help_center"]
    assert tool_events(reply)[-1]["status"] == "ok"


def test_a_question_over_several_lines_still_reaches_the_help_center(tmp_path):
    """Tool arguments are one line of plain text; the runtime's own search passes the question so."""
    agent, model = make_agent(tmp_path, [PLACEHOLDER_LOGIN, "We ship to Canada in 7-14 business days."])
    reply = agent.session().send("Do you ship\nto Canada?\u200f Thanks")
    assert [(e["tool"], e["status"]) for e in tool_events(reply)][-1] == ("search_help_center", "ok")
    assert agent.store.one("SELECT arguments FROM audit_log WHERE tool = 'search_help_center'")["arguments"] \
        == '{"query": "Do you ship to Canada? Thanks"}'


def test_asking_for_opening_hours_is_not_an_escalation(tmp_path):
    agent, model = make_agent(tmp_path, [
        {"tool": "escalate_to_human", "arguments": {"reason": "customer_request", "summary": "hours"}},
        "Our team answers Monday to Friday."])
    reply = agent.session().send("When can I talk to a human agent? What are your hours?")
    assert [e["tool"] for e in tool_events(reply)] == ["search_help_center"]
    assert agent.store.one("SELECT count(*) AS n FROM tickets")["n"] == 0


def test_an_order_lookup_for_a_tracking_question_tracks_the_shipment(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "get_order", "arguments": {"order_id": "W1001"}}, "W1001 hasn't shipped yet.")
    reply = session.send("Can I get the tracking number for W1001?")
    (event,) = tool_events(reply)
    assert event["tool"] == "track_shipment" and event["status"] == "ok"
    model.add({"tool": "get_order", "arguments": {"order_id": "W1001"}}, "W1001 is pending.")
    assert tool_events(session.send("What's in W1001?"))[0]["tool"] == "get_order"


def test_an_address_the_customer_never_gave_is_asked_for(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "modify_order_address", "arguments": {
        "order_id": "W1001", "address_line1": "123 Elm St", "city": "Anytown", "state": "CA", "zip_code": "94107"}})
    reply = session.send("Please ship W1001 to my new place.")
    assert reply.pending_action is None and "full address" in reply.text
    model.add({"tool": "update_account", "arguments": {"field": "phone", "phone": "415-555-0199"}})
    reply = session.send("and update my phone")
    assert reply.pending_action is None and "phone number" in reply.text


def test_an_address_the_customer_gave_goes_through(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "update_account", "arguments": {"field": "address", "address": {
        "address_line1": "200 Beacon St", "address_line2": "Apt 5", "city": "Boston", "state": "MA",
        "zip_code": "02116"}}})
    reply = session.send("I moved to 200 Beacon Street, Apt 5, Boston, MA 02116. Please update my address.")
    assert reply.pending_action is not None and "200 Beacon St" in reply.pending_action.summary
