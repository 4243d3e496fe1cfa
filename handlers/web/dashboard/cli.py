"""`python bot.py users add|list|disable|enable`: dashboard accounts from the command line (the first admin
of a fresh install is made this way). The password is read from stdin only, never from an argument (which
would show in `ps` and the shell history)."""

from __future__ import annotations

import sys
from typing import IO, Any

from handlers.web.dashboard.accounts import AccountError, create_account
from policies.form import FormSpec
from policies.scopes import ROLE_LABELS

CLI_CREATOR = "命令行"


def read_password(stream: IO[str]) -> str:
    """The first line of `stream`, without its line break."""
    line = stream.readline()
    return line[:-1] if line.endswith("\n") else line


async def users_cli(args: Any, repo: Any, spec: FormSpec, stdin: IO[str] | None = None) -> int:
    action = args.users_command
    if action == "add":
        if not args.password_stdin:
            print("请用 --password-stdin 从标准输入提供密码，例如：", file=sys.stderr)
            example = (
                "printf '%s\\n' \"$PASSWORD\" | python bot.py users add 名称 --role admin --password-stdin"
            )
            print("  " + example, file=sys.stderr)
            return 2
        password = read_password(stdin or sys.stdin)
        try:
            account, warning = await create_account(
                repo, spec, name=args.name, role=args.role, scope=args.scope or "", password=password,
                created_by=CLI_CREATOR,
            )  # fmt: skip
        except AccountError as exc:
            print(f"未创建账号：{exc}", file=sys.stderr)
            return 1
        if warning:
            print(f"注意：{warning}", file=sys.stderr)
        scope = f"，范围：{account.scope}" if account.scope else ""
        print(f"已创建账号 {account.name}（{ROLE_LABELS[account.role]}{scope}）")
        detail = f"{account.role} {account.scope}".strip()
        await repo.write_audit(
            account=CLI_CREATOR,
            role="",
            address="",
            action="account_create",
            target=account.name,
            detail=detail,
        )
        return 0
    if action == "list":
        accounts = await repo.list_accounts()
        if not accounts:
            print("还没有账号。创建第一个管理员：python bot.py users add 名称 --role admin --password-stdin")
            return 0
        for a in accounts:
            state = "已停用" if a.disabled else "正常"
            last = a.last_login_at.strftime("%Y-%m-%d %H:%M") if a.last_login_at else "从未登录"
            print(f"{a.name}\t{a.role}\t{a.scope or '-'}\t{state}\t{last}")
        return 0
    disabled = action == "disable"
    account = await repo.set_account_disabled(args.name, disabled)
    if account is None:
        print(f"没有账号 {args.name}", file=sys.stderr)
        return 1
    await repo.write_audit(account=CLI_CREATOR, role="", address="", action=f"account_{action}",
                           target=account.name)  # fmt: skip
    print(
        f"已{'停用' if disabled else '启用'}账号 {account.name}" + ("，其登录已全部失效" if disabled else "")
    )
    return 0
