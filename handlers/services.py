"""The collaborators every channel needs, built once per process: settings, repository, policy data and
the conversation core over them.

Telegram callbacks reach them through `services(context)` (a weak registry keyed by the Application, not
`bot_data`, which would be persisted); the web app keeps them under an `AppKey`; the terminal holds them.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from policies.conversation import Conversation
from policies.flows import FormFlow
from policies.form import DEFAULT_PATH, FormSpec
from policies.ports import Store
from policies.settings import Settings

if TYPE_CHECKING:
    from telegram.ext import Application, CallbackContext

    from policies.store import PolicyStore

_REGISTRY: weakref.WeakKeyDictionary[Any, Services] = weakref.WeakKeyDictionary()


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

            flow = FormFlow(self.repo, spec, self.settings.today, ask)
            self._conversation = Conversation(
                repo=self.repo,
                policies=self.policies,
                flow=flow,
                reports=SqlReports(self.repo),
                today=self.settings.today,
            )
        return self._conversation

    @property
    def flow(self) -> FormFlow:
        return self.conversation.flow


def attach(application: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    _REGISTRY[application] = svc


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    return _REGISTRY[application]


def services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    """The Services of the Application this callback runs in."""
    return _REGISTRY[context.application]
