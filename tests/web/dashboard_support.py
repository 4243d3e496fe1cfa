"""Drive the dashboard over HTTP as a browser would: one `Desk` per cookie jar (signed-in account)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from handlers.web.dashboard.auth import hash_password
from policies.records import Account, Entry
from storage import SqlRepository

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
# Two universities and two districts, each with entries; accounts see one of each.
OUC = "中国海洋大学"
UPC = "中国石油大学（华东）"
ZHONGDE = "中德生态园"
DONGJIAKOU = "董家口经济区"

_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose


async def add_account(repo: SqlRepository, name: str, role: str, scope: str = "") -> Account:
    return await repo.add_account(name, _HASH, role, scope, "test")


def entry_fields(university: str, district: str, enterprise: str, code: str, project: str) -> dict[str, Any]:
    return {
        "university": university,
        "platform_name": f"{university}海洋工程平台",
        "platform_type": "实验室",
        "enterprise_name": enterprise,
        "credit_code": code,
        "district": district,
        "project_name": project,
        "status": "在建",
        "enterprise_contact": "王工",
        "enterprise_phone": "13800000000",
    }


async def seed(repo: SqlRepository, quarter: str = "2026Q4") -> dict[str, Entry]:
    """One entry per (university, district) pair, each by its own enterprise and user."""
    out = {}
    combos = [(OUC, ZHONGDE, "甲"), (OUC, DONGJIAKOU, "乙"), (UPC, ZHONGDE, "丙"), (UPC, DONGJIAKOU, "丁")]
    for i, (uni, district, tag) in enumerate(combos):
        fields = entry_fields(
            uni, district, f"青岛{tag}科技有限公司", f"91370211MA3C1234{i}X", f"{tag}项目防腐涂层"
        )
        out[tag] = await repo.create_entry(1000 + i, quarter, fields)
    return out


class Desk:
    """One browser (cookie jar) on the dashboard."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.csrf = ""

    async def login(self, name: str, password: str = PASSWORD, *, expect: int = 303) -> Any:
        page = await self.client.get("/admin/login")
        assert page.status == 200
        token = CSRF_RE.search(await page.text())
        assert token is not None
        resp = await self.client.post(
            "/admin/login",
            data={"csrf": token.group(1), "name": name, "password": password, "next": "/admin/"},
            allow_redirects=False,
        )
        assert resp.status == expect, await resp.text()
        if expect == 303:
            await self.page("/admin/")
        return resp

    async def page(self, path: str, *, expect: int = 200, **params: str) -> str:
        resp = await self.client.get(path, params=params, allow_redirects=False)
        text = await resp.text()
        assert resp.status == expect, f"{path}: {resp.status} {text[:300]}"
        found = CSRF_RE.search(text)
        if found:
            self.csrf = found.group(1)
        return text

    async def get(self, path: str, **params: str) -> Any:
        return await self.client.get(path, params=params, allow_redirects=False)

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> Any:
        body = {**data, "csrf": self.csrf} if csrf else dict(data)
        return await self.client.post(path, data=body, allow_redirects=False)


async def desk(server: TestServer) -> Desk:
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    return Desk(client)
