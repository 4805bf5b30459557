"""The admin and audit pages over TestClient, on SQLite and PostgreSQL: users (add with the
error on its field and nothing saved, disable), sites, go-live, the list status per stratum
(counts only: no arm, no future kit number) and a subject's audit history."""

from __future__ import annotations

import re

from randomisation_fixtures import BLINDED, PASSWORD
from sqlalchemy import func, select
from web_fixtures import build_web_world

from oncotrial.server.db.models import ListSlot, Site, User


def _count(world, model) -> int:
    with world.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_users_and_sites_forms(database):
    world = build_web_world(database.url, BLINDED, owner_url=database.owner_url)
    try:
        admin = world.login("admin")
        users = admin.get("/admin/users")
        assert users.status_code == 200 and "inv-S01" in users.text
        before = _count(world, User)
        weak = admin.post("/admin/users", {"username": "carol", "password": "short",
                                           "role": "investigator", "site": "S01"})
        assert weak.status_code == 422 and 'href="#f-password"' in weak.text
        assert 'aria-describedby="f-password-hint f-password-error"' in weak.text
        assert 'value="carol"' in weak.text and _count(world, User) == before
        no_site = admin.post("/admin/users", {"username": "carol", "password": "Tamarind-Pulse-8",
                                              "role": "investigator"})
        assert no_site.status_code == 422 and 'href="#f-site"' in no_site.text
        added = admin.post("/admin/users", {"username": "carol", "password": "Tamarind-Pulse-8",
                                            "role": "investigator", "site": "S02"})
        assert added.status_code == 303 and _count(world, User) == before + 1
        carol = world.login("carol", "Tamarind-Pulse-8")
        assert carol.get("/").status_code == 200
        disabled = admin.post("/admin/users/carol/disable", {}, csrf_from="/admin/users")
        assert disabled.status_code == 303
        assert "disabled carol" in admin.get(disabled.headers["location"]).text
        assert carol.get("/").status_code == 303  # her session ended with the account
        own = admin.post("/admin/users/admin/disable", {}, csrf_from="/admin/users")
        assert own.status_code == 422 and "your own account" in own.text

        sites = _count(world, Site)
        bad = admin.post("/admin/sites", {"code": "LYO", "name": "Lyon", "country": "France"})
        assert bad.status_code == 422 and 'href="#f-country"' in bad.text
        assert _count(world, Site) == sites
        ok = admin.post("/admin/sites", {"code": "LYO", "name": "Lyon", "country": "FR"})
        assert ok.status_code == 303 and "LYO" in admin.get("/admin/sites").text
    finally:
        world.close()


def test_go_live_then_list_status_without_arms(database):
    world = build_web_world(database.url, BLINDED, owner_url=database.owner_url, live=False)
    try:
        admin = world.login("admin")
        setup = admin.get("/admin/trial")
        assert "Take the trial live" in setup.text and "List status" not in setup.text
        inv = world.login("inv-S01")
        subject = inv.get(f"/subjects/{world.registered['S01'][0]}")
        assert "not live" in subject.text and "Randomise " not in subject.text
        bad = admin.post("/admin/go-live", {"per_stratum": "zero"}, csrf_from="/admin/trial")
        assert bad.status_code == 422 and 'href="#f-per-stratum"' in bad.text
        assert _count(world, ListSlot) == 0
        live = admin.post("/admin/go-live", {"per_stratum": "6"}, csrf_from="/admin/trial")
        assert live.status_code == 303
        page = inv.get(f"/subjects/{world.registered['S01'][0]}")
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = inv.post(f"/subjects/{world.registered['S01'][0]}/randomise",
                        {"password": PASSWORD, "idempotency_key": key}, csrf=csrf)
        assert done.status_code == 303
        status = admin.get("/admin/trial")
        assert status.status_code == 200 and "List status" in status.text
        rows = re.findall(r"<tr><th scope=\"row\">([^<]*)</th><td>(\d+)</td><td>(\d+)</td></tr>",
                          status.text)
        assert len(rows) == 12 and sum(int(u) for _, u, _ in rows) == 1
        assert all(int(u) + int(r) == 6 for _, u, r in rows)
        assert "Region: asia; ECOG performance status: 0; PD-L1 combined positive score: CPS 1-9" \
            in status.text
        with world.db.read() as session:
            kits = [c for c in session.scalars(select(ListSlot.masked_code)) if c]
        assert not [k for k in kits if k in status.text]
        assert "CAPOXPD1" not in status.text and "block_size" not in status.text
        again = admin.post("/admin/go-live", {}, csrf_from="/admin/trial")
        assert again.status_code == 200 or again.status_code == 409
    finally:
        world.close()


def test_audit_history_of_a_subject(database):
    world = build_web_world(database.url, BLINDED, owner_url=database.owner_url)
    try:
        code = world.randomised["S01"][0]
        monitor = world.login("monitor")
        subject = monitor.get(f"/subjects/{code}")
        assert "subject.register" in subject.text and "randomise" in subject.text
        assert "Randomise " + code not in subject.text  # the monitor changes nothing
        history = monitor.get(f"/audit?entity=subject&entity_id={code}")
        assert history.status_code == 200 and f"subject {code}" in history.text
        assert world.registered["S01"][0] not in history.text
        verified = monitor.get("/audit?verify=1")
        assert "Hash chain verified" in verified.text
        assert world.login("inv-S01").get("/audit").status_code == 403
    finally:
        world.close()
