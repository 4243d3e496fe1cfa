"""The dashboard's defences as an attacker or a careless user meets them: the login throttle (held in the
database, so every worker sees it), CSRF, the session cookie, disabling and idle timeout, re-authentication
for new accounts, escaping, the append-only audit log, and `bot.py users` from a shell."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from handlers.services import Services
from handlers.web import build_web_app
from handlers.web.dashboard import auth
from handlers.web.security import RateLimiter
from storage import SqlRepository, open_repository
from storage.db import downgrade, migrate
from tests.test_cli import run_bot
from tests.web.dashboard_support import (
    OUC,
    PASSWORD,
    UPC,
    ZHONGDE,
    Desk,
    add_account,
    desk,
    entry_fields,
    seed,
)


@pytest.fixture
async def desks(server: TestServer) -> AsyncIterator[Any]:
    opened: list[Desk] = []

    async def make(on: TestServer | None = None) -> Desk:
        d = await desk(on or server)
        opened.append(d)
        return d

    yield make
    for d in opened:
        await d.client.close()


async def test_five_wrong_passwords_lock_the_account_in_every_worker(
    repo: SqlRepository, svc: Services, desks: Any, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_account(repo, "ouc", "university", OUC)
    d = await desks()
    for _ in range(auth.MAX_FAILURES - 1):
        resp = await d.login("ouc", "wrong password!", expect=401)
        assert "账号或密码错误" in await resp.text()
    resp = await d.login("ouc", "wrong password!", expect=401)
    assert "登录失败次数过多" in await resp.text()  # the fifth failure says so at once
    resp = await d.login("ouc", PASSWORD, expect=429)  # now even the right password waits
    assert "请 15 分钟后再试" in await resp.text()
    # another worker (a second app on the same database) refuses as well
    other = await aiohttp_server(build_web_app(svc, limiter=RateLimiter(capacity=1000)))
    elsewhere = await desks(other)
    await elsewhere.login("ouc", PASSWORD, expect=429)
    events, _ = await repo.audit_events(account="ouc")
    assert [e.action for e in events].count("login_failed") == 5
    assert [e.action for e in events].count("login_locked") == 2
    # once the failures are older than the lockout, the right password works again
    monkeypatch.setattr(auth, "LOCKOUT", dt.timedelta(seconds=-1))
    await d.login("ouc", PASSWORD)
    assert "中国海洋大学" in await d.page("/admin/")


async def test_guessing_many_accounts_from_one_address_locks_the_address(
    repo: SqlRepository, desks: Any
) -> None:
    await add_account(repo, "boss", "admin")
    d = await desks()
    for i in range(auth.MAX_FAILURES):
        await d.login(f"guess{i}", "wrong password!", expect=401)
    await d.login("boss", PASSWORD, expect=429)


async def test_unknown_name_and_wrong_password_get_the_same_answer(repo: SqlRepository, desks: Any) -> None:
    await add_account(repo, "boss", "admin")
    d = await desks()
    a = await (await d.login("boss", "wrong password!", expect=401)).text()
    b = await (await d.login("nobody", "wrong password!", expect=401)).text()
    assert "账号或密码错误" in a and "账号或密码错误" in b


async def test_a_disabled_account_cannot_log_in(repo: SqlRepository, desks: Any) -> None:
    await add_account(repo, "ouc", "university", OUC)
    await repo.set_account_disabled("ouc", True)
    d = await desks()
    resp = await d.login("ouc", PASSWORD, expect=403)
    assert "该账号已停用" in await resp.text()


async def test_posts_without_the_csrf_token_are_403(repo: SqlRepository, desks: Any) -> None:
    entries = await seed(repo)
    await add_account(repo, "boss", "admin")
    await add_account(repo, "ouc", "university", OUC)
    boss, ouc = await desks(), await desks()
    await boss.login("boss")
    await ouc.login("ouc")
    posts = [
        (boss, "/admin/remind", {"text": "提醒", "nonce": "abcdefgh12"}),
        (
            boss,
            "/admin/accounts",
            {
                "name": "new1",
                "role": "admin",
                "password": "p" * 12,
                "password_again": "p" * 12,
                "current_password": PASSWORD,
            },
        ),
        (boss, "/admin/accounts/status", {"name": "ouc", "action": "disable"}),
        (ouc, f"/admin/entries/{entries['甲'].id}/check", {"action": "confirm"}),
        (boss, "/admin/logout", {}),
    ]
    for who, path, data in posts:
        assert (await who.post(path, data, csrf=False)).status == 403, path
        assert (await who.post(path, {**data, "csrf": "forged"}, csrf=False)).status == 403, path
        header = await who.client.post(
            path, data=data, headers={"X-CSRF-Token": "forged"}, allow_redirects=False
        )
        assert header.status == 403, path
    assert await repo.get_account("new1") is None
    assert not (await repo.get_account("ouc")).disabled  # type: ignore[union-attr]
    assert (await repo.get_entry(entries["甲"].id)).platform_check is None  # type: ignore[union-attr]
    assert await repo.unfinished_broadcasts() == []
    assert "总览" in await boss.page("/admin/")  # still signed in: logout needed the token too
    # the login form has its own token
    resp = await boss.client.post(
        "/admin/login", data={"name": "boss", "password": PASSWORD}, allow_redirects=False
    )
    assert resp.status == 403
    events, _ = await repo.audit_events(action="csrf_refused")
    assert len(events) == 15


async def test_the_session_cookie_is_signed_httponly_strict_and_server_side(
    repo: SqlRepository, desks: Any, svc: Services, aiohttp_server: Any
) -> None:
    await add_account(repo, "boss", "admin")
    d = await desks()
    resp = await d.login("boss")
    cookie = resp.cookies[auth.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/admin"
    assert not cookie["secure"]
    value = cookie.value
    # a forged or tampered cookie is nobody
    forged = await desks()
    for bad in (value[:-2] + "xx", "abc.def", value.split(".")[0]):
        forged.client.session.cookie_jar.update_cookies({auth.COOKIE: bad})
        assert (await forged.get("/admin/")).status == 303
    # logging out ends the session on the server: the old cookie is refused afterwards
    await d.page("/admin/")
    assert (await d.post("/admin/logout", {})).status == 303
    replay = await desks()
    replay.client.session.cookie_jar.update_cookies({auth.COOKIE: value})
    resp = await replay.get("/admin/")
    assert resp.status == 303 and resp.headers["Location"].startswith("/admin/login")
    # behind HTTPS (WEB_COOKIE_SECURE) the cookie is Secure
    secure = dataclasses.replace(svc, settings=dataclasses.replace(svc.settings, web_cookie_secure=True))
    site = await aiohttp_server(build_web_app(secure, limiter=RateLimiter(capacity=1000)))
    over_https = await desks(site)
    page = await over_https.client.get("/admin/login")
    assert page.cookies[auth.LOGIN_COOKIE]["secure"]


async def test_disabling_an_account_ends_its_open_sessions(repo: SqlRepository, desks: Any) -> None:
    await add_account(repo, "boss", "admin")
    await add_account(repo, "ouc", "university", OUC)
    boss, ouc = await desks(), await desks()
    await boss.login("boss")
    await ouc.login("ouc")
    assert (await ouc.get("/admin/entries")).status == 200
    await boss.page("/admin/accounts")
    resp = await boss.post("/admin/accounts/status", {"name": "ouc", "action": "disable"})
    assert resp.status == 200 and "已停用账号“ouc”" in await resp.text()
    resp = await ouc.get("/admin/entries")
    assert resp.status == 303 and resp.headers["Location"].startswith("/admin/login")
    # and an admin cannot lock themself out
    resp = await boss.post("/admin/accounts/status", {"name": "boss", "action": "disable"})
    assert resp.status == 400 and not (await repo.get_account("boss")).disabled  # type: ignore[union-attr]


async def test_an_idle_session_times_out(
    repo: SqlRepository, desks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_account(repo, "boss", "admin")
    d = await desks()
    await d.login("boss")
    monkeypatch.setattr(auth, "IDLE_TIMEOUT", dt.timedelta(seconds=-1))
    resp = await d.get("/admin/entries")
    assert resp.status == 303 and resp.headers["Location"] == "/admin/login?next=/admin/entries"
    monkeypatch.setattr(auth, "IDLE_TIMEOUT", dt.timedelta(minutes=30))
    assert (await d.get("/admin/entries")).status == 303  # the session row is gone, not just skipped


async def test_htmx_requests_without_a_session_are_sent_to_the_login_page(desks: Any) -> None:
    d = await desks()
    resp = await d.client.get("/admin/entries", headers={"HX-Request": "true"}, allow_redirects=False)
    assert resp.status == 401 and resp.headers["HX-Redirect"].startswith("/admin/login")


async def test_login_never_redirects_off_the_dashboard(repo: SqlRepository, desks: Any) -> None:
    await add_account(repo, "boss", "admin")
    d = await desks()
    page = await d.client.get("/admin/login", params={"next": "//evil.example/x"})
    token = __import__("re").search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    resp = await d.client.post(
        "/admin/login",
        data={"csrf": token, "name": "boss", "password": PASSWORD, "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/admin/"


async def test_creating_an_account_asks_for_the_admins_password_again(
    repo: SqlRepository, desks: Any
) -> None:
    await add_account(repo, "boss", "admin")
    d = await desks()
    await d.login("boss")
    await d.page("/admin/accounts")
    new = {"name": "haida", "role": "university", "scope": "海大", "password": "a new password",
           "password_again": "a new password"}  # fmt: skip
    resp = await d.post("/admin/accounts", {**new, "current_password": "not my password"})
    assert resp.status == 403 and "当前密码不正确" in await resp.text()
    assert await repo.get_account("haida") is None
    resp = await d.post("/admin/accounts", {**new, "current_password": PASSWORD})
    assert resp.status == 200 and "已创建账号“haida”" in await resp.text()
    account = await repo.get_account("haida")
    assert account is not None and (account.role, account.scope) == ("university", OUC)  # alias resolved
    resp = await d.post("/admin/accounts", {**new, "current_password": PASSWORD})
    assert resp.status == 400 and "已存在" in await resp.text()
    weak = {
        **new,
        "name": "weak",
        "password": "short",
        "password_again": "short",
        "current_password": PASSWORD,
    }
    resp = await d.post("/admin/accounts", weak)
    assert resp.status == 400 and "密码至少 10 个字符" in await resp.text()
    actions = [e.action for e in (await repo.audit_events(account="boss"))[0]]
    assert actions.count("account_create") == 1 and actions.count("reauth_failed") == 1
    fresh = await desks()
    await fresh.login("haida", "a new password")
    assert "高校院所：中国海洋大学" in await fresh.page("/admin/")


async def test_user_text_is_escaped_everywhere(repo: SqlRepository, desks: Any) -> None:
    evil = "<script>alert(1)</script>"
    fields = entry_fields(OUC, ZHONGDE, evil, "91370211MA3C12340X", f"<img src=x onerror=alert(1)>{evil}")
    entry = await repo.create_entry(7, "2026Q4", fields)
    await add_account(repo, "boss", "admin")
    d = await desks()
    await d.login("boss")
    for path in ("/admin/entries", f"/admin/entries/{entry.id}", "/admin/"):
        page = await d.page(path, q="script") if path == "/admin/entries" else await d.page(path)
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in await d.page(f"/admin/entries/{entry.id}")
    resp = await d.get("/admin/entries")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]


async def test_remind_reaches_exactly_who_has_not_filed_once(repo: SqlRepository, desks: Any) -> None:
    await seed(repo)  # 2026Q4 filers: users 1000..1003
    last = entry_fields(UPC, ZHONGDE, "青岛戊科技有限公司", "91370211MA3C99990X", "旧项目")
    await repo.create_entry(2000, "2026Q3", last)  # filed last quarter, not this one
    await repo.create_entry(
        1000, "2026Q3", entry_fields(OUC, ZHONGDE, "青岛甲科技有限公司", "91370211MA3C12340X", "旧")
    )
    for uid in (1000, 2000, 3000, 3001):
        await repo.upsert_subscriber(uid, uid, f"用户{uid}")
    await repo.unsubscribe(3001)
    await add_account(repo, "boss", "admin")
    d = await desks()
    await d.login("boss")
    page = await d.page("/admin/")
    assert "青岛戊科技有限公司" in page and "一键提醒未填报的 2 位联系人" in page
    nonce = __import__("re").search(r'name="nonce" value="([^"]+)"', page).group(1)
    resp = await d.post("/admin/remind", {"text": "请尽快填报", "nonce": nonce})
    assert resp.status == 303
    (broadcast,) = await repo.unfinished_broadcasts()
    assert broadcast.text == "请尽快填报"
    assert sorted(i.user_id for i in await repo.outbox_items(broadcast.id)) == [2000, 3000]
    again = await d.post("/admin/remind", {"text": "请尽快填报", "nonce": nonce})  # a double submit
    assert again.status == 303 and "sent=again" in again.headers["Location"]
    assert len(await repo.unfinished_broadcasts()) == 1
    (event,) = (await repo.audit_events(action="broadcast"))[0]
    assert event.account == "boss" and f"broadcast:{broadcast.id}" == event.target


async def test_the_audit_page_filters(repo: SqlRepository, desks: Any) -> None:
    await add_account(repo, "boss", "admin")
    await add_account(repo, "ouc", "university", OUC)
    d, o = await desks(), await desks()
    await o.login("ouc", "wrong password!", expect=401)
    await o.login("ouc")
    await d.login("boss")
    page = await d.page("/admin/audit", account="ouc")
    assert "登录失败" in page and "<td>boss</td>" not in page
    page = await d.page("/admin/audit", action="login")
    assert "<td>boss</td>" in page and "<td>ouc</td>" in page and "登录失败" not in page.split("<tbody>")[1]
    page = await d.page("/admin/audit", **{"from": "2000-01-01", "to": "2000-01-02"})
    assert "没有符合条件的记录" in page


async def test_the_audit_log_refuses_update_and_delete_on_postgresql(repo: SqlRepository) -> None:
    if repo.dialect != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's; SQLite deployments are single-operator")
    await repo.write_audit(account="boss", role="admin", address="127.0.0.1", action="login")
    for statement in ("UPDATE dashboard_audit SET account = 'x'", "DELETE FROM dashboard_audit"):
        with pytest.raises(Exception, match="append-only"):
            async with repo.engine.begin() as conn:
                await conn.execute(text(statement))
    events, total = await repo.audit_events()
    assert total == 1 and events[0].account == "boss"


async def test_the_migration_backfills_the_district_of_existing_entries(db_url: str) -> None:
    repo = await open_repository(db_url)
    try:
        await downgrade(repo.engine, "0009")
        async with repo.engine.begin() as conn:
            for i, district in enumerate(["中德生态园", ""]):
                fields = f'{{"district": "{district}", "university": "中国海洋大学"}}'
                await conn.execute(
                    text(
                        "INSERT INTO entries (user_id, quarter, university, credit_code, enterprise_name,"
                        " platform_name, project_name, status, fields, created_at, updated_at)"
                        " VALUES (:u, '2026Q4', '中国海洋大学', 'X', 'E', 'P', 'J', '在建', :f, :t, :t)"
                    ),
                    {"u": i, "f": fields, "t": dt.datetime(2026, 10, 1)},
                )
        await migrate(repo.engine)
        got = sorted([(e.user_id, e.district) async for e in repo.iter_entries()])
        assert got == [(0, "中德生态园"), (1, "")]
    finally:
        await repo.close()


def test_users_add_list_disable_enable_from_the_shell(tmp_path: Any) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"}
    result = run_bot(
        "users", "add", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n", env=env
    )
    assert result.returncode == 0 and "已创建账号 boss（秘书处管理员）" in result.stdout, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    result = run_bot(
        "users", "add", "haida", "--role", "university", "--scope", "海大", "--password-stdin",
        stdin=PASSWORD + "\n", env=env,
    )  # fmt: skip
    assert result.returncode == 0 and "范围：中国海洋大学" in result.stdout
    result = run_bot(
        "users", "add", "town", "--role", "district", "--scope", "某某街道", "--password-stdin",
        stdin=PASSWORD + "\n", env=env,
    )  # fmt: skip
    assert result.returncode == 0 and "不在已知的功能区/镇街名单中" in result.stderr
    refused = [
        (["users", "add", "x1", "--role", "admin", "--password-stdin"], "short\n", "密码至少 10 个字符"),
        (["users", "add", "x2", "--role", "university", "--password-stdin"], PASSWORD + "\n", "需要范围"),
        (
            ["users", "add", "x3", "--role", "admin", "--scope", "海大", "--password-stdin"],
            PASSWORD + "\n",
            "不需要范围",
        ),
        (["users", "add", "boss", "--role", "admin", "--password-stdin"], PASSWORD + "\n", "已存在"),
        (["users", "add", "x4", "--role", "admin"], "", "--password-stdin"),
    ]
    for args, stdin, message in refused:
        result = run_bot(*args, stdin=stdin, env=env)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
    listed = run_bot("users", "list", env=env).stdout.splitlines()
    assert [line.split("\t")[:4] for line in listed] == [
        ["boss", "admin", "-", "正常"],
        ["haida", "university", "中国海洋大学", "正常"],
        ["town", "district", "某某街道", "正常"],
    ]
    assert run_bot("users", "disable", "haida", env=env).returncode == 0
    assert "haida\tuniversity\t中国海洋大学\t已停用" in run_bot("users", "list", env=env).stdout
    assert run_bot("users", "enable", "haida", env=env).returncode == 0
    assert "haida\tuniversity\t中国海洋大学\t正常" in run_bot("users", "list", env=env).stdout
    result = run_bot("users", "disable", "nobody", env=env)
    assert result.returncode == 1 and "没有账号 nobody" in result.stderr


async def test_disabling_from_the_shell_ends_a_browser_session(
    tmp_path: Any, desks: Any, aiohttp_server: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    repo = await open_repository(url)
    try:
        from tests.web.support import services

        await add_account(repo, "ouc", "university", OUC)
        site = await aiohttp_server(build_web_app(services(repo), limiter=RateLimiter(capacity=1000)))
        d = await desks(site)
        await d.login("ouc")
        assert run_bot("users", "disable", "ouc", env={"DATABASE_URL": url}).returncode == 0
        assert (await d.get("/admin/")).status == 303
    finally:
        await repo.close()
