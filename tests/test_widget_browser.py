"""The widget in a real browser: Debian's headless Chromium driven by Playwright, against uvicorn on
127.0.0.1 with the scripted model. Open the demo page, open the widget, verify, track an order (the
activity label shows while the tool runs), ask for a cancellation, click Confirm, and check the
database; and a Chinese conversation on a phone (labels, card, real CJK glyphs, 360 px; its screenshot
in out/widget-zh.png). Screenshots go to a temp dir (and to $SCREENSHOT_DIR when set)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from agent_harness import LOGIN, free_port, make_agent, understood

from agent.turn import texts

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser

TRACK_REPLY = ("Order W1003 is shipped with UPS, estimated delivery 2026-11-25. Last scan: Departed sort "
               "facility, Sacramento, CA (2026-11-23).")  # the track_shipment tool's own words


@pytest.fixture
def server(tmp_path):
    """uvicorn in a thread, serving the app on a free port; yields (base_url, agent, model)."""
    import uvicorn

    from agent.server import create_app

    agent, model = make_agent(tmp_path)
    port = free_port()
    config = uvicorn.Config(create_app(agent), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not srv.started:
        if time.time() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", agent, model
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path):
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    target = os.environ.get("SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            shutil.copy(png, Path(target) / png.name)


def _slow_tool(monkeypatch, name: str, seconds: float) -> None:
    """The tool `name` takes `seconds` (long enough to see, and assert, the activity label)."""
    import agent.session

    real = agent.session.run_tool

    def run_tool(ctx, tool, args, **kwargs):
        if tool == name:
            time.sleep(seconds)
        return real(ctx, tool, args, **kwargs)

    monkeypatch.setattr(agent.session, "run_tool", run_tool)


def test_chat_verify_track_cancel_and_confirm_in_chromium(server, browser, shots, monkeypatch):
    from playwright.sync_api import expect

    base, agent, model = server
    _slow_tool(monkeypatch, "track_shipment", 1.5)
    model.add(LOGIN, understood("track_shipment", "W1003"),
              understood("cancel_order", "W1001", reason="ordered it by mistake"))
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Gear for the long way round.")).to_be_visible()
    launcher = page.get_by_role("button", name="Open chat: Northwind support")
    expect(launcher).to_be_visible()
    page.screenshot(animations="disabled", path=shots / "01-shop-page.png")

    # open with the keyboard: focus lands in the message box
    launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Northwind support")
    expect(dialog).to_be_visible()
    box = page.get_by_role("textbox", name="Your message")
    expect(box).to_be_focused()
    log = page.get_by_role("log")
    expect(log).to_contain_text("email address and zip code")
    page.screenshot(animations="disabled", path=shots / "02-panel-open.png")

    # Esc closes and gives focus back to the launcher; open again
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(box).to_be_focused()

    box.fill("Hi, I'm jane.doe@example.com, zip 94107.")
    box.press("Enter")
    expect(log).to_contain_text("Thanks Jane, you're verified. How can I help?")
    expect(box).to_have_value("")

    box.fill("Where is my order W1003?")
    box.press("Enter")
    activity = page.locator(".sa-activity")
    expect(activity).to_have_text("Tracking order W1003...", timeout=5000)
    page.screenshot(animations="disabled", path=shots / "03-activity-label.png")
    expect(log).to_contain_text(TRACK_REPLY)
    expect(activity).to_be_hidden()
    page.screenshot(animations="disabled", path=shots / "04-streamed-answer.png")

    box.fill("Please cancel W1001, I ordered it by mistake")
    box.press("Enter")
    card = page.get_by_role("group", name="Please confirm this change")
    expect(card).to_be_visible()
    expect(card).to_contain_text("W1001")
    confirm = card.get_by_role("button", name="Confirm")
    expect(card.get_by_role("button", name="Cancel")).to_be_visible()
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "pending"
    page.screenshot(animations="disabled", path=shots / "05-confirmation-card.png")

    confirm.click()
    expect(card).to_contain_text("Done.")
    expect(card.get_by_role("button", name="Confirm")).to_be_hidden()
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "cancelled"
    expect(log).to_contain_text("W1001")
    page.screenshot(animations="disabled", path=shots / "06-confirmed.png")

    # a reload resumes the conversation from the server
    page.reload()
    page.get_by_role("button", name="Open chat: Northwind support").click()
    expect(page.get_by_role("log")).to_contain_text(TRACK_REPLY)
    expect(page.get_by_role("log")).to_contain_text("You confirmed the change.")
    page.screenshot(animations="disabled", path=shots / "07-after-reload.png")
    assert not errors, errors


def test_widget_fits_a_phone_and_shows_errors_calmly(server, browser, shots):
    from playwright.sync_api import expect

    base, _, model = server
    model.add(understood("smalltalk"))
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(base + "/")
    page.screenshot(animations="disabled", path=shots / "08-phone-shop.png")
    page.get_by_role("button", name="Open chat: Northwind support").click()
    dialog = page.get_by_role("dialog", name="Northwind support")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["width"] <= 360 and box["x"] + box["width"] <= 360
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"
    page.get_by_role("textbox", name="Your message").fill("I need some help")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("log")).to_contain_text(texts.GREETING)

    # the script is exhausted: the model fails, the customer is asked again and the widget stays usable
    page.get_by_role("textbox", name="Your message").fill("and then")
    page.get_by_role("textbox", name="Your message").press("Enter")
    expect(page.get_by_role("log")).to_contain_text(texts.CLARIFY)
    expect(page.get_by_role("button", name="Send message")).to_be_enabled()
    page.screenshot(animations="disabled", path=shots / "09-phone-chat.png")
    context.close()


def test_widget_recovers_calmly_from_network_failures(server, browser, shots):
    """A request that never reaches the server is sent again after a calm notice; a stream cut
    short is completed from the transcript; the server answers each message exactly once."""
    from playwright.sync_api import expect

    base, agent, model = server
    model.add(LOGIN, understood("smalltalk"))
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    calls = {"n": 0}

    def flaky(route):
        calls["n"] += 1
        if calls["n"] == 1:  # the first message: the network is down
            route.abort("internetdisconnected")
        elif calls["n"] == 3:  # the second message reaches the server, but its stream is cut short
            response = route.fetch()
            first_event = response.text().split("\n\n")[0] + "\n\n"
            route.fulfill(response=response, body=first_event)
        else:
            route.continue_()

    transcript_calls = {"n": 0}

    def flaky_transcript(route):
        transcript_calls["n"] += 1
        if transcript_calls["n"] == 1:  # still down when the widget first checks what arrived
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/sessions/*/messages", flaky)
    page.route("**/api/sessions/*/transcript", flaky_transcript)
    page.goto(base + "/")
    page.get_by_role("button", name="Open chat: Northwind support").click()
    box = page.get_by_role("textbox", name="Your message")
    box.fill("Hi, I'm jane.doe@example.com, zip 94107.")
    box.press("Enter")
    banner = page.locator(".sa-banner")
    expect(banner).to_contain_text("Reconnecting", timeout=5000)
    page.screenshot(animations="disabled", path=shots / "10-reconnecting.png")
    log = page.get_by_role("log")
    expect(log).to_contain_text("Thanks Jane, you're verified.", timeout=15000)
    expect(banner).to_be_hidden()

    box.fill("That's all, thanks")
    box.press("Enter")
    expect(log).to_contain_text(texts.ANYTHING_ELSE, timeout=15000)
    assert calls["n"] == 3
    users = agent.store.all("SELECT content FROM messages WHERE role = 'user' ORDER BY id")
    assert [u["content"] for u in users] == ["Hi, I'm jane.doe@example.com, zip 94107.",
                                             "That's all, thanks"]
    assert log.get_by_text(texts.ANYTHING_ELSE).count() == 1


# The glyph of a character as the widget's font draws it: two different Chinese characters drawn the
# same, or like a private-use code point, are the missing-glyph box ("tofu"), not text.
GLYPH = """([element, chars]) => {
  const style = getComputedStyle(element);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const g = canvas.getContext("2d");
  g.font = `${style.fontWeight} 40px ${style.fontFamily}`;
  return chars.map((ch) => {
    g.clearRect(0, 0, 64, 64);
    g.fillText(ch, 4, 48);
    return Array.from(g.getImageData(0, 0, 64, 64).data).join(",");
  });
}"""
ZH_LOGIN = {"lang": "zh", "requests": [{"kind": "login"}]}
ZH_CANCEL = {"lang": "zh", "requests": [{"kind": "cancel_order", "order": "W1001", "reason": "买错了"}]}
ZH_SHOT = Path(__file__).resolve().parents[1] / "out" / "widget-zh.png"


def test_a_chinese_conversation_with_a_confirmation_card_on_a_phone(server, browser, shots):
    """A page in Chinese (<html lang="zh">): the widget's labels, the replies and the confirmation card
    are in Chinese, drawn with real CJK glyphs, within 360 px; 确认 cancels the order."""
    from playwright.sync_api import expect

    base, agent, model = server
    model.add(ZH_LOGIN, ZH_CANCEL)
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.route(base + "/", lambda route: route.fulfill(
        response=(r := route.fetch()), body=r.text().replace('<html lang="en">', '<html lang="zh">')))
    page.goto(base + "/")
    page.get_by_role("button", name="打开对话：Northwind support").click()
    box = page.get_by_role("textbox", name="您的消息")
    box.fill("你好，我是jane.doe@example.com，邮编94107。")
    page.get_by_role("button", name="发送消息").click()
    log = page.get_by_role("log")
    expect(log).to_contain_text("Jane")
    expect(log).to_contain_text("通过身份验证")
    box.fill("请取消订单W1001，买错了。")
    box.press("Enter")
    card = page.get_by_role("group", name="请确认此更改")
    expect(card).to_contain_text("W1001")
    confirm = card.get_by_role("button", name="确认", exact=True)
    expect(confirm).to_be_visible()
    expect(card.get_by_role("button", name="取消，不做此更改")).to_be_visible()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways ({width}px)"
    panel = page.get_by_role("dialog").bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 360
    assert page.evaluate("(el) => el.scrollWidth <= el.clientWidth", card.element_handle())
    first, second, missing = page.evaluate(GLYPH, [confirm.element_handle(), ["确", "认", "\ue000"]])
    assert first != second and missing not in (first, second), "Chinese is drawn as missing-glyph boxes"
    page.screenshot(animations="disabled", path=shots / "11-phone-chinese-card.png")
    ZH_SHOT.parent.mkdir(exist_ok=True)
    page.screenshot(animations="disabled", path=ZH_SHOT)

    confirm.click()
    expect(card).to_contain_text("已完成。")
    expect(log).to_contain_text("订单W1001已取消")
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "cancelled"
    context.close()
