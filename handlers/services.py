"""The collaborators every channel needs, built once per process: settings, repository, policy data and
the conversation core over them.

Telegram callbacks reach them through `handlers.telegram.context.services(context)`; the web app keeps
them under an `AppKey`; the terminal chat holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from policies.conversation import Conversation
from policies.flows import FormFlow
from policies.form import DEFAULT_PATH, FormSpec
from policies.platform_search import PlatformCatalogue
from policies.ports import Store
from policies.settings import Settings

if TYPE_CHECKING:
    from policies.reminders import CreatedReminder, Leaderboard
    from policies.store import PolicyStore


@dataclass
class Services:
    settings: Settings
    repo: Store
    policies: PolicyStore
    extras: dict[str, Any] = field(default_factory=dict)
    _conversation: Conversation | None = field(default=None, repr=False)

    @property
    def conversation(self) -> Conversation:
        """The conversation core, built on first use (form.yaml from POLICY_DIR first, else packaged)."""
        if self._conversation is None:
            from storage.reports import SqlReports

            path = self.settings.policy_dir / "form.yaml"
            spec = FormSpec.load(path if path.exists() else DEFAULT_PATH)

            def ask(text: str) -> Any:
                return self.policies.matcher.answer(text, self.settings.today())

            def facts() -> Any:  # the current policy data: a published deadline moves the filing quarter
                return self.policies.base.dated_facts

            catalogue = PlatformCatalogue(self.repo)
            flow = FormFlow(self.repo, spec, self.settings.today, ask, facts, platforms=catalogue)
            self._conversation = Conversation(
                repo=self.repo,
                policies=self.policies,
                flow=flow,
                reports=SqlReports(self.repo),
                today=self.settings.today,
                platforms=catalogue,
                unanswered=self.repo,
            )
        return self._conversation

    @property
    def flow(self) -> FormFlow:
        return self.conversation.flow

    async def create_due_reminders(self, leaderboard: Leaderboard | None = None) -> list[CreatedReminder]:
        """Create every reminder due today that has not gone this quarter (the database dedupes across
        processes); web recipients get theirs in the same transaction. Every channel's daily job calls
        this one."""
        from policies.reminders import create_due_reminders
        from storage.reports import SqlReports

        return await create_due_reminders(
            self.repo,
            self.policies.base,
            self.settings.today(),
            admin_chat_ids=self.settings.admin_ids,
            leaderboard=leaderboard or SqlReports(self.repo).leaderboard_text,
        )
