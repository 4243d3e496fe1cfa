"""Enterprise membership across channels, through the fully wired Telegram application and the web chat on
one database: the first filer is the member, a colleague on the other channel is asked about and approved
(or rejected) in chat, invites from `bot.py invite`, and linking a Telegram account to a web session."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from handlers.services import Services
from handlers.telegram.broadcast import resume_all
from storage import SqlRepository
from storage.tables import LinkCodeRow
from tests import forms
from tests.harness import all_text, internal_id, last_text, offline_chat, wired_app
from tests.offline import OfflineChat
from tests.web.conftest import open_user
from tests.web.support import WebUser

ROOT = Path(__file__).resolve().parents[2]
FIRST = 9101  # the enterprise's first filer, on Telegram
OTHER = 9102  # somebody else on Telegram
CODE = forms.TYPED["统一社会信用代码"]
NAME = forms.TYPED["企业名称"]
OWN_CODE = "91370211MA3C8XY52P"  # another enterprise (a valid check digit)


@pytest.fixture
async def tg(svc: Services, repo: SqlRepository) -> AsyncIterator[OfflineChat]:
    async with offline_chat(wired_app(repo, svc.settings, svc.policies)) as chat:
        yield chat


async def tg_fill(chat: OfflineChat, user_id: int, typed: dict[str, str] | None = None) -> list[Any]:
    """/start, /fill and every answer as a user gives them; returns the replies to 提交."""
    answers = {**forms.TYPED, **(typed or {})}
    await chat.send("/start", user_id=user_id)
    await chat.send("/fill", user_id=user_id)
    for _ in range(40):
        text = chat.history(user_id)[-1].text
        if "请核对填报内容" in text:
            return await chat.press("✅ 提交", user_id=user_id)
        if text.startswith("使用上次的企业信息"):
            await chat.press("否，重新填写", user_id=user_id)
            continue
        label = forms.field_label(text.split("\n\n")[-1])
        if label == "共建形式":
            await chat.press("☐ 技术研发", user_id=user_id)
            await chat.press("✅ 完成", user_id=user_id)
        elif label in forms.PRESSED:
            await chat.press(forms.PRESSED[label], user_id=user_id)
        else:
            assert label is not None, text
            await chat.send(answers[label], user_id=user_id)
    raise AssertionError("never reached the summary")


async def web_fill(user: WebUser) -> str:
    """/fill to 提交 in the web chat; the text of the bot's answer to 提交."""
    await user.send("/fill")
    await user.fill_to_summary()
    await user.press("✅ 提交")
    return user.last_text()


def entry_ids(text: str) -> set[str]:
    return {word.split("#", 1)[1].split()[0] for word in text.split() if word.startswith("#")}


async def send_outbox(chat: OfflineChat, repo: SqlRepository) -> None:
    """What the sender worker's loop does every few seconds: deliver open outbox rows to Telegram."""
    await resume_all(chat.app.bot, repo)


async def test_a_web_colleague_is_approved_in_telegram_and_then_both_see_the_same_entries(
    tg: OfflineChat, repo: SqlRepository, server: TestServer, aiohttp_client: Any
) -> None:
    assert "提交成功" in last_text(await tg_fill(tg, FIRST))
    colleague = await open_user(aiohttp_client, server)

    answer = await web_fill(colleague)
    assert "需由该企业现有成员同意" in answer and "草稿已保存" in answer
    await colleague.send("我的项目")
    assert "您还没有填报过项目" in colleague.last_text()  # nothing of the enterprise while pending

    await send_outbox(tg, repo)
    ask = tg.history(FIRST)[-1]
    assert ask.text.startswith(f"李娜申请以{NAME}名义填报，是否同意？")
    assert ask.labels == ["同意", "拒绝"]
    assert all(len(d.encode()) <= 64 for row in ask.data for d in row if d)
    assert "已同意李娜" in last_text(await tg.press("同意", user_id=FIRST))
    assert "该申请已处理过" in last_text(await tg.press("同意", user_id=FIRST))  # pressed twice: once

    told = [m["text"] for m in await colleague.poll()]
    assert any("申请已获同意" in text for text in told)
    await colleague.send("我的项目")
    web_mine = colleague.last_text()
    await tg.send("我的项目", user_id=FIRST)
    tg_mine = tg.history(FIRST)[-1].text
    assert entry_ids(web_mine) == entry_ids(tg_mine) and len(entry_ids(tg_mine)) == 1

    # The kept draft goes in now; the enterprise's entry is offered as the duplicate it is.
    await colleague.send("/fill")
    await colleague.press("继续填写")
    await colleague.press("✅ 提交")
    assert "本季度已填报过相同的项目" in colleague.last_text()
    await colleague.press("更新已有项目")
    assert "已更新本季度已有项目" in colleague.last_text()
    await colleague.press("我的项目")
    (entry,) = await repo.entries_for_user(await internal_id(repo, FIRST))
    assert f"#{entry.id}" in colleague.all_text()


async def test_a_rejected_request_is_told_and_opens_nothing(
    tg: OfflineChat, repo: SqlRepository, server: TestServer, aiohttp_client: Any
) -> None:
    await tg_fill(tg, FIRST)
    stranger = await open_user(aiohttp_client, server)
    await web_fill(stranger)
    await send_outbox(tg, repo)
    assert "已拒绝" in last_text(await tg.press("拒绝", user_id=FIRST))

    assert any("未获同意" in m["text"] for m in await stranger.poll())
    await stranger.send("我的项目")
    assert "您还没有填报过项目" in stranger.last_text()
    await stranger.send("/fill")
    await stranger.press("继续填写")
    await stranger.press("✅ 提交")
    assert "未获该企业成员同意" in stranger.last_text()
    assert [e.user_id async for e in repo.iter_entries()] == [await internal_id(repo, FIRST)]


async def test_every_takeover_path_is_closed_for_a_non_member(
    tg: OfflineChat, repo: SqlRepository, server: TestServer, aiohttp_client: Any
) -> None:
    await tg_fill(tg, FIRST)
    (entry,) = await repo.entries_for_user(await internal_id(repo, FIRST))
    # typed credit code (Telegram): pending, nothing filed, nothing shown
    answer = last_text(await tg_fill(tg, OTHER))
    assert "需由该企业现有成员同意" in answer
    other = await internal_id(repo, OTHER)
    assert await repo.membership(CODE, other) == "pending"
    assert [e.id for e in await repo.entries_for_user(other)] == []
    # forged buttons (Telegram): another entry's id, and approving one's own request
    last = tg.history(OTHER)[-1]
    for data in (f"e:hist:{entry.id}", f"e:upd:{entry.id}", f"f:upd:{entry.id}"):
        update_ = tg.fake.user_presses(OTHER, last.message_id, data, enqueue=False, strict=False)
        replies = await tg.process(update_, OTHER)
        assert "只能查看和更新您本人或您所在企业" in all_text(replies), data
        assert entry.project_name not in all_text(replies)
    forged = tg.fake.user_presses(OTHER, last.message_id, f"mb:y:{CODE}:{other}", enqueue=False, strict=False)
    await tg.process(forged, OTHER)
    assert "您不是该企业的成员" in " ".join(tg.toasts)
    assert await repo.membership(CODE, other) == "pending"
    # the web API: ids of another's entry on a real message of this session are stale
    web = await open_user(aiohttp_client, server)
    await web_fill(web)
    for data in (f"e:hist:{entry.id}", f"e:upd:{entry.id}", f"mb:y:{CODE}:{other}"):
        resp = await web.post({"button": data, "message_id": web.last_id})
        assert resp.status == 200
        texts = [m["text"] for m in (await resp.json())["messages"]]
        assert texts == ["该按钮已失效，未做任何处理。请发送 /start 重新打开菜单。"], data
    assert await repo.get_entry(entry.id) == entry and list(await repo.history(entry.id)) == []


def run_invite(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "ADMIN_"))}
    env.update(
        DATABASE_URL=db_url, BOT_USERNAME="pairing_test_bot", PUBLIC_WEB_URL="https://chat.example.cn/"
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "invite", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def invite_code(stdout: str) -> str:
    line = next(x for x in stdout.splitlines() if x.startswith("邀请码："))
    return line.removeprefix("邀请码：").strip()


async def test_invites_from_the_cli_make_members_at_once_on_every_channel(
    tg: OfflineChat, repo: SqlRepository, db_url: str, server: TestServer, aiohttp_client: Any
) -> None:
    await tg_fill(tg, FIRST)
    result = run_invite(db_url, "--uscc", CODE.lower(), "--name", NAME, "--days", "7")
    assert result.returncode == 0, result.stderr
    code = invite_code(result.stdout)
    assert len(code) >= 10
    assert f"https://t.me/pairing_test_bot?start=inv_{code}" in result.stdout
    assert f"https://chat.example.cn/?invite={code}" in result.stdout

    replies = await tg.send(f"/start inv_{code}", user_id=OTHER)
    assert "已加入企业" in all_text(replies)
    await tg.send("我的项目", user_id=OTHER)
    (entry,) = await repo.entries_for_user(await internal_id(repo, FIRST))
    assert f"#{entry.id}" in tg.history(OTHER)[-1].text

    web = await open_user(aiohttp_client, server)
    await web.send(f"/join {code}")
    assert "已加入企业" in web.last_text()
    visitor = await open_user(aiohttp_client, server)
    resp = await visitor.client.get("/", params={"invite": code}, allow_redirects=False)
    assert resp.status == 303
    await visitor.open()
    assert "已加入企业" in visitor.all_text()
    await visitor.send("我的项目")
    assert f"#{entry.id}" in visitor.last_text()

    assert "邀请码无效" in last_text(await tg.send("/join wrong-code-1234567", user_id=OTHER + 1))
    bad = run_invite(db_url, "--uscc", "123")
    assert bad.returncode == 2 and "统一社会信用代码" in bad.stderr


async def test_an_expired_invite_is_refused_clearly(tg: OfflineChat, repo: SqlRepository) -> None:
    code = await repo.create_invite(OWN_CODE, "测试企业", "cli", days=1)
    from storage.tables import EnterpriseInviteRow

    async with repo._transaction() as s:
        await s.execute(
            update(EnterpriseInviteRow).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert "邀请码无效、已过期" in last_text(await tg.send(f"/join {code}", user_id=OTHER))
    assert await repo.membership(OWN_CODE, await internal_id(repo, OTHER)) is None


async def test_linking_telegram_and_web_merges_one_person(
    tg: OfflineChat, repo: SqlRepository, server: TestServer, aiohttp_client: Any
) -> None:
    await tg_fill(tg, FIRST)  # the Telegram side has an entry and is the enterprise's member
    web = await open_user(aiohttp_client, server)
    await web.send("/link")
    shown = web.last_text()
    code = shown.split("关联码：", 1)[1].split()[0]
    assert len(code) == 8 and code.isdigit() and "10 分钟" in shown

    asked = last_text(await tg.send(f"/link {code}", user_id=FIRST))
    assert "确认关联" in asked and "无法撤销" in asked  # nothing merged before the press
    assert "已关联" in last_text(await tg.press("确认关联", user_id=FIRST))
    await web.send("我的项目")
    (entry,) = await repo.entries_for_user(await internal_id(repo, FIRST))
    assert f"#{entry.id}" in web.last_text()
    assert await repo.membership(CODE, await internal_id(repo, FIRST)) == "active"

    # reused, and expired
    await tg.send(f"/link {code}", user_id=OTHER)
    assert "关联码无效" in last_text(await tg.press("确认关联", user_id=OTHER))
    other = await internal_id(repo, OTHER)
    other_web = await open_user(aiohttp_client, server)
    await other_web.send("/link")
    late = other_web.last_text().split("关联码：", 1)[1].split()[0]
    async with repo._transaction() as s:
        await s.execute(
            update(LinkCodeRow).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    await tg.send(f"/link {late}", user_id=OTHER)
    assert "关联码无效" in last_text(await tg.press("确认关联", user_id=OTHER))
    assert await internal_id(repo, OTHER) == other  # not linked
    await tg.send("我的项目", user_id=OTHER)
    assert "您还没有填报过项目" in tg.history(OTHER)[-1].text


async def test_a_link_code_someone_else_sent_is_not_merged_without_confirming(
    tg: OfflineChat, repo: SqlRepository, server: TestServer, aiohttp_client: Any
) -> None:
    """A stranger's web session shows a code and talks an enterprise's member into typing it: the member
    is warned, presses 取消, and keeps their entries to themselves."""
    await tg_fill(tg, FIRST)
    stranger = await open_user(aiohttp_client, server)
    await stranger.send("/link")
    code = stranger.last_text().split("关联码：", 1)[1].split()[0]
    member = await internal_id(repo, FIRST)

    warned = last_text(await tg.send(f"/link {code}", user_id=FIRST))
    assert "如果关联码是别人发给您的" in warned
    assert "未做任何更改" in last_text(await tg.press("取消", user_id=FIRST))
    assert await internal_id(repo, FIRST) == member
    await stranger.send("我的项目")
    assert "您还没有填报过项目" in stranger.last_text()
