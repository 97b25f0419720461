"""The HTML pages, in-process: what a manager sees and does, on a seeded database."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from alerts.ack import ack_url
from monitor.storage import repo
from monitor.storage.db import session_scope
from monitor.storage.models import IncidentRow, QueueItem, Source
from monitor.web import routes_pages
from monitor.web.params import QueueParams
from tests.support.fixtures.pages import forged
from tests.support.worlds.web import (
    HOSTILE_URL,
    INCIDENT,
    KEY,
    PASSAGE,
    PASSWORD,
    Tags,
    World,
    assert_inert,
    build_showcase,
    build_template,
    login_token,
    open_world,
)

INCIDENT_PATH = "/incidents/" + quote(INCIDENT, safe="")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("web"))


@pytest.fixture
def web(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from open_world(template, tmp_path, monkeypatch)


def status_of(world: World, post_id: str) -> str:
    with session_scope(world.engine) as session:
        item = session.get(QueueItem, (post_id, "Nordtel"))
        assert item is not None
        return item.status


def incident_row(world: World) -> IncidentRow:
    with session_scope(world.engine) as session:
        return session.exec(select(IncidentRow)).one()


def form_csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found
    return found.group(1)


def test_home_goes_to_the_open_incidents(web: World) -> None:
    client = web.login("mia")
    assert client.get("/").headers["location"] == "/incidents"
    page = client.get("/incidents").text
    assert "Open incidents" in page
    assert "opened 10 min ago" in page
    assert f'href="{INCIDENT_PATH}"' in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page
    assert_inert(page)


def test_a_watched_surge_says_so_on_the_list_and_its_page(web: World) -> None:
    """A bursty brand's surge is watched before it pages (monitor/detect/incidents.py): the
    manager sees it, and sees that nobody has been paged for it yet."""
    client = web.login("mia")
    assert "watching: pages if it lasts" not in client.get("/incidents").text
    with session_scope(web.engine) as session:
        row = session.exec(select(IncidentRow)).one()
        row.origin = "watching"
        session.add(row)
    assert "watching: pages if it lasts" in client.get("/incidents").text
    assert "watching: pages if it lasts" in client.get(INCIDENT_PATH).text


def test_times_show_exact_and_relative_in_the_schedules_zone(web: World) -> None:
    client = web.login("mia")
    listing = client.get("/incidents").text
    assert 'opened 10 min ago <span class="exact">· 2026-11-02 10:00 CET</span>' in listing
    page = client.get(INCIDENT_PATH).text
    assert 'datetime="2026-11-02T09:00:00+00:00"' in page
    assert " UTC" not in page
    assert 'began 1 h 10 min ago <span class="exact">· 2026-11-02 09:00 CET' in page  # onset
    assert ">10:00 CET</text>" in page  # the chart's last hour
    web.clock.advance(hours=4, minutes=26)
    client.post(f"{INCIDENT_PATH}/ack", data={"csrf_token": form_csrf(page)})
    assert "time to acknowledge: 4 h 36 min" in client.get(INCIDENT_PATH).text
    for path in ("/incidents", INCIDENT_PATH, "/queue", "/posts/plain/Nordtel", "/oncall"):
        assert not re.search(r"<span title=", client.get(path).text), path  # no hover-only


def test_sources_page_reads_a_local_clocks_success_as_past(web: World) -> None:
    """The demo's crawl runs on a Copenhagen clock; its success 7 minutes ago once read
    "in 53 min" (the local wall time stored as UTC)."""
    local = (web.clock() - timedelta(minutes=7)).astimezone(ZoneInfo("Europe/Copenhagen"))
    with session_scope(web.engine) as session:
        ids = session.exec(select(Source.id)).all()
        repo.update_sources(session, [{"id": i, "last_success_at": local} for i in ids])
    page = web.login("mia").get("/sources").text
    assert page.count('7 min ago <span class="exact">· 2026-11-02 10:03 CET</span>') == len(ids)
    assert "in 53 min" not in page


def test_incident_page_explains_charts_and_lists_posts(web: World) -> None:
    page = web.login("mia").get(INCIDENT_PATH).text
    assert 'class="storm-facts"' in page  # the explanation as cards (the text is the fallback)
    assert "about 6 times the usual" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'class="observed partial"' in svg
    assert ">so far<" in svg
    assert svg.count("<polyline") == 3
    assert 'class="band"' in svg
    assert "onset" in svg
    assert 'href="/posts/hostile/Nordtel?back=' in page
    assert 'href="/posts/plain/Nordtel?back=' in page
    assert f'action="{INCIDENT_PATH}/ack"' in page
    assert_inert(page)


def test_a_viewer_sees_no_buttons(web: World) -> None:
    client = web.login("vic")
    assert "/ack" not in client.get(INCIDENT_PATH).text
    post = client.get("/posts/plain/Nordtel").text
    assert "Triage" not in post
    assert 'action="/posts/' not in post


def test_ack_and_resolve_from_the_incident_page(web: World) -> None:
    client = web.login("mia")
    token = form_csrf(client.get(INCIDENT_PATH).text)
    assert "Acknowledge this incident?" in client.get(f"{INCIDENT_PATH}/ack").text
    done = client.post(f"{INCIDENT_PATH}/ack", data={"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == f"{INCIDENT_PATH}?done=ack"
    assert "Acknowledged." in client.get(done.headers["location"]).text
    row = incident_row(web)
    assert (row.status, row.acknowledged_by) == ("acknowledged", "mia")
    again = client.post(f"{INCIDENT_PATH}/ack", data={"csrf_token": token})
    assert again.status_code == 409
    assert "already acknowledged" in again.text
    client.post(f"{INCIDENT_PATH}/resolve", data={"csrf_token": token})
    assert incident_row(web).status == "resolved"
    assert "Recently resolved" in client.get("/incidents").text


def test_a_paged_ack_link_logs_in_confirms_and_only_then_acts(web: World) -> None:
    link = ack_url("http://testserver", KEY.encode(), INCIDENT, web.clock(), timedelta(hours=1))
    path = link.removeprefix("http://testserver")
    client = web.client()
    to_login = client.get(path)
    assert to_login.status_code == 303
    form = client.get(to_login.headers["location"]).text
    assert f'name="next" value="{path}"' in form
    logged_in = client.post(
        "/login",
        data={"name": "mia", "password": PASSWORD, "csrf_token": login_token(form), "next": path},
    )
    assert logged_in.headers["location"] == path
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Acknowledge this incident?" in confirm.text
    for _ in range(3):
        client.get(path)  # link previews and reloads change nothing
    assert incident_row(web).status == "triggered"
    token = path.split("token=")[1]
    done = client.post(
        f"{INCIDENT_PATH}/ack", data={"csrf_token": form_csrf(confirm.text), "token": token}
    )
    assert done.status_code == 303
    assert incident_row(web).status == "acknowledged"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("tamper", "not issued by this Stormwatch"),
        ("expire", "has expired"),
        ("other", "belongs to another incident"),
        ("overflow", "This link is damaged"),
    ],
)
def test_a_bad_ack_link_says_why_and_does_nothing(web: World, change: str, message: str) -> None:
    now = web.clock()
    key = b"x" * 32 if change == "tamper" else KEY.encode()
    target = "Other:volume:1" if change == "other" else INCIDENT
    token = ack_url("http://t", key, target, now, timedelta(hours=1)).split("token=")[1]
    if change == "overflow":  # signed with the right key, but "e" is infinity
        token = forged(key, f'{{"i":"{INCIDENT}","a":"ack","e":1e999}}')
    if change == "expire":
        web.clock.advance(hours=2)
    client = web.login("mia")
    page = client.get(f"{INCIDENT_PATH}/ack", params={"token": token})
    assert page.status_code == 400
    assert message in page.text
    posted = client.post(
        f"{INCIDENT_PATH}/ack", data={"csrf_token": form_csrf(page.text), "token": token}
    )
    assert posted.status_code == 400
    assert message in posted.text
    assert incident_row(web).status == "triggered"


def test_the_queue_ranks_filters_and_refreshes_in_place(web: World) -> None:
    client = web.login("mia")
    page = client.get("/queue").text
    assert "2 posts" in page
    assert 'id="queue-results"' in page
    assert "hx-get" in page
    assert_inert(page)
    partial = client.get("/queue", params={"status": "all"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text
    assert "2 posts" in partial.text
    assert partial.headers["vary"] == "HX-Request, Accept-Language"  # a page per language too
    found = client.get("/queue", params={"q": "lukket"}).text
    assert "1 post," in found
    assert "/posts/hostile/Nordtel" in found
    assert "0 posts" in client.get("/queue", params={"brand": "Teleborg"}).text
    assert "0 posts" in client.get("/queue", params={"since": "5m"}).text
    too_short = client.get("/queue", params={"q": "a"})
    assert too_short.status_code == 400
    assert "at least 2 letters" in too_short.text
    assert client.get("/queue", params={"since": "yesterday-ish"}).status_code == 400


def test_an_empty_result_names_what_was_searched(web: World) -> None:
    client = web.login("mia")
    page = client.get("/queue", params={"q": "kø"}).text
    assert "No open posts match “kø”." in page
    assert "queue is empty" not in page
    page = client.get("/queue", params={"q": "zz", "brand": "Nordtel", "since": "5m"}).text
    assert "No open posts match “zz” with brand Nordtel, in the last 5m." in page
    assert QueueParams().nothing_found() == "The open queue is empty."
    assert "No dismissed posts." in client.get("/queue", params={"status": "dismissed"}).text


def test_htmx_refusals_come_as_a_sentence_to_swap_in(web: World) -> None:
    client = web.login("mia")
    htmx = {"HX-Request": "true"}
    refused = client.get("/queue", params={"q": "x" * 201}, headers=htmx)
    assert refused.status_code == 400
    assert "<html" not in refused.text
    assert '<p class="notice bad" role="alert">' in refused.text
    short = client.get("/queue", params={"q": "a"}, headers=htmx)
    assert short.status_code == 400
    assert "at least 2 letters" in short.text
    assert "<html" in client.get("/queue", params={"q": "x" * 201}).text  # a whole page


def test_an_incident_is_worked_through_the_queue_and_back_keeps_the_filters(
    web: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_pages, "INCIDENT_PREVIEW", 1)
    client = web.login("mia")

    def get(path: str) -> str:
        return html.unescape(client.get(path).text)

    filtered = "status=all&incident=" + quote(INCIDENT, safe="")
    page = get(INCIDENT_PATH)
    assert f'href="/queue?{filtered}"' in page
    assert "The 1 most urgent of 2." in page
    queue = get(f"/queue?{filtered}")
    assert "The posts of" in queue
    assert "2 posts" in queue
    assert f'name="incident" value="{INCIDENT}"' in queue  # kept when other filters change
    back = "?back=" + quote(filtered, safe="")
    assert f'href="/posts/plain/Nordtel{back}"' in queue
    assert "0 posts" in get("/queue?incident=elsewhere")

    post = get(f"/posts/plain/Nordtel{back}")
    assert f'<a href="/queue?{filtered}">Back to the queue</a>' in post
    assert f'name="back" value="{filtered}"' in post
    csrf: str = client.csrf  # type: ignore[attr-defined]
    done = client.post("/posts/plain/Nordtel/ack", data={"csrf_token": csrf, "back": filtered})
    assert done.headers["location"] == f"/posts/plain/Nordtel?done=ack&back={quote(filtered)}"
    assert f'<a href="/queue?{filtered}">Back to the queue</a>' in get(done.headers["location"])
    # the next post in the same filtered list, after an action too; none after the last
    first, second = re.findall(r'<a class="title" href="(/posts/[^"?]+)', queue)
    opened = get(f"{first}{back}")
    assert f'<a href="{second}{back}" rel="next">Next post →</a>' in opened
    assert 'rel="next"' not in get(f"{second}{back}")
    assert 'rel="next"' not in get(f"{first}?back=" + quote("page=x&status=all"))
    hostile = get("/posts/plain/Nordtel?back=" + quote("x=1&q=fiber&next=//evil"))
    assert '<a href="/queue?q=fiber">Back to the queue</a>' in hostile


@pytest.fixture(scope="module")
def showcase_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_showcase(tmp_path_factory.mktemp("showcase"))


def test_urgency_is_one_number_everywhere_sorted_as_shown(
    showcase_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue once showed 3.50, 3.44, 3.37, 3.41 under "most urgent first" (the raw
    urgency, sorted by the urgency faded with age) and the post page "344%"."""
    for world in open_world(showcase_template, tmp_path, monkeypatch):
        client = world.login("mia")
        page = client.get("/queue", params={"status": "all", "limit": 200}).text
        shown = [float(u) for u in re.findall(r'class="urgency">urgency ([\d.]+)<', page)]
        assert len(shown) > 10
        assert shown == sorted(shown, reverse=True)
        first = re.search(r'<a class="title" href="([^"?]+)', page)
        assert first
        post = client.get(first.group(1)).text
        assert f'<span class="urgency">{shown[0]:.2f}</span> now' in post


def test_open_pages_poll_for_newly_flagged_posts_without_moving_anything(web: World) -> None:
    client = web.login("mia")
    seen = quote(web.clock().isoformat(), safe="")
    assert f'hx-get="/queue/new?seen={seen}" hx-trigger="every 30s"' in client.get("/queue").text
    incident = html.unescape(client.get(INCIDENT_PATH).text)
    assert f'hx-get="/queue/new?status=all&incident={quote(INCIDENT, safe="")}&seen=' in incident
    assert client.get(f"/queue/new?seen={seen}").text.strip() == ""
    earlier = quote((web.clock() - timedelta(minutes=11)).isoformat(), safe="")
    bar = client.get(f"/queue/new?seen={earlier}").text
    assert "2 new posts flagged since this page was loaded" in bar
    assert 'href="/queue"' in bar
    linked = client.get(f"/queue/new?brand=Nordtel&seen={earlier}").text
    assert 'href="/queue?brand=Nordtel"' in linked
    assert client.get("/queue/new?brand=Teleborg&seen=" + earlier).text.strip() == ""
    assert client.get("/queue/new?seen=soon").status_code == 400


def test_the_queue_pages(web: World) -> None:
    client = web.login("mia")
    first = client.get("/queue", params={"limit": 1}).text
    assert "page 1 of 2" in first
    assert 'href="/queue?page=2&amp;limit=1"' in first
    second = client.get("/queue", params={"limit": 1, "page": 2}).text
    assert "page 2 of 2" in second
    assert "Previous" in second


def test_a_hostile_post_renders_as_inert_text_with_its_passage_marked(web: World) -> None:
    page = web.login("mia").get("/posts/hostile/Nordtel").text
    assert f'<mark id="passage">{PASSAGE}</mark>' in page
    assert "Hej. &lt;img src=x onerror=alert(1)&gt; <mark" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Nordtel nede" in page
    assert f"<code>{HOSTILE_URL}</code>" in page, "a javascript: URL is shown, never linked"
    assert_inert(page)


def test_a_web_link_to_the_original_opens_safely(web: World) -> None:
    page = web.login("mia").get("/posts/plain/Nordtel").text
    [link] = [a for t, a in Tags(page).tags if t == "a" and a.get("target") == "_blank"]
    assert link["href"] == "http://127.0.0.1:1/p/plain"
    assert link["rel"] == "noopener noreferrer nofollow"
    assert "Samme her, Nordtel er nede." in page, "the thread is shown"


def test_triage_from_the_post_page(web: World) -> None:
    client = web.login("mia")
    base = "/posts/plain/Nordtel"
    token = form_csrf(client.get(base).text)
    ack = client.post(f"{base}/ack", data={"csrf_token": token})
    assert ack.status_code == 303
    assert ack.headers["location"] == f"{base}?done=ack"
    assert status_of(web, "plain") == "acknowledged"
    people = re.findall(r'<option value="(\w+)"', client.get(base).text.split('name="assignee"')[1])
    assert people[:4] == ["ada", "mette", "mia", "vic"]  # users and on-call people, no typing
    client.post(f"{base}/assign", data={"csrf_token": token, "assignee": "jonas"})
    client.post(f"{base}/note", data={"csrf_token": token, "note": "Ringet op <b>kl 10</b>"})
    client.post(f"{base}/respond", data={"csrf_token": token})
    page = client.get(f"{base}?done=respond").text
    assert "Marked as answered." in page
    assert "assigned to jonas" in page
    assert "Ringet op &lt;b&gt;kl 10&lt;/b&gt;" in page
    assert status_of(web, "plain") == "responded"
    refused = client.post(f"{base}/ack", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "cannot acknowledge" in refused.text
    empty = client.post(f"{base}/note", data={"csrf_token": token, "note": " "})
    assert empty.status_code == 400
    assert "needs some text" in empty.text
    form = client.get(base).text
    assert '<option value="" selected disabled>choose: right or wrong?</option>' in form
    labels = form.split('name="label"')[1].split("</select>")[0]
    assert not re.search(r'<option value="\w+"[^>]* selected', labels)  # no default verdict
    unchosen = client.post(f"{base}/relabel", data={"csrf_token": token, "label": ""})
    assert unchosen.status_code == 400
    assert "label must be one of" in unchosen.text
    assert status_of(web, "plain") == "responded"
    relabel = client.post(f"{base}/relabel", data={"csrf_token": token, "label": "not_complaint"})
    assert relabel.status_code == 303
    assert status_of(web, "plain") == "dismissed"
    assert "Reopen" in client.get(base).text
    assert client.post(f"{base}/explode", data={"csrf_token": token}).status_code == 404
    assert client.get("/posts/nope/Nordtel").status_code == 404


def test_triage_buttons_are_grouped_by_what_they_do(web: World) -> None:
    page = web.login("mia").get("/posts/plain/Nordtel").text
    row = page[page.index('<div class="actions">') : page.index("</div>", page.index("Dismiss"))]
    assert ">Acknowledge</button>" in row
    assert ">Resolve</button>" in row
    assert "note" not in row
    assert page.index(">Dismiss</button>") < page.index(">Mark answered</button>")
    assert "<label>How it was answered (optional) <input" in page


def test_a_dismissal_can_be_undone_from_the_page_it_lands_on(web: World) -> None:
    client = web.login("mia")
    csrf: str = client.csrf  # type: ignore[attr-defined]
    base = "/posts/plain/Nordtel"
    assert "Undo" not in client.get(base).text
    done = client.post(f"{base}/dismiss", data={"csrf_token": csrf})
    page = client.get(done.headers["location"]).text
    assert "Dismissed." in page
    assert f'action="{base}/reopen" class="undo"' in page
    client.post(f"{base}/reopen", data={"csrf_token": csrf})
    assert status_of(web, "plain") not in ("dismissed", "resolved")


def test_sources_and_oncall_pages(web: World) -> None:
    client = web.login("vic")
    sources = client.get("/sources").text
    assert "blog" in sources
    assert "failing" in sources
    assert "pending" in sources
    oncall = client.get("/oncall").text
    assert "mette" in oncall
    assert "storms" in oncall


def test_exports_are_csv_downloads(web: World) -> None:
    client = web.login("vic")
    queue = client.get("/exports/queue.csv", params={"status": "all"})
    assert queue.headers["content-type"].startswith("text/csv")
    assert 'filename="stormwatch-queue.csv"' in queue.headers["content-disposition"]
    lines = queue.text.splitlines()
    assert lines[0].startswith("post_id,brand,status")
    assert len(lines) == 3
    times = client.get("/exports/response-times.csv", params={"since": "7d"})
    assert times.text.splitlines()[0].startswith("post_id,brand,incident_id")


def test_the_printable_summary(web: World) -> None:
    page = web.login("vic").get(f"{INCIDENT_PATH}/summary").text
    assert "/static/print.css" in page
    assert "<svg" in page
    assert "data-print" in page
    assert "Printed from Stormwatch" in page
    assert_inert(page)


def test_missing_things_are_404_pages(web: World) -> None:
    client = web.login("vic")
    missing = client.get("/incidents/nope")
    assert missing.status_code == 404
    assert "Not found" in missing.text
    assert client.get("/incidents/nope/summary").status_code == 404
