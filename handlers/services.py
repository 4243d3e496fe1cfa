"""The collaborators every callback needs, attached to the Application once at start.

They are not kept in `bot_data` because that is persisted; a weak registry keyed by the
Application keeps them reachable from any `CallbackContext` without globals.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext

from policies.ports import Repository
from policies.settings import Settings

if TYPE_CHECKING:
    from policies.store import PolicyStore

_REGISTRY: weakref.WeakKeyDictionary[Application[Any, Any, Any, Any, Any, Any], Services] = (
    weakref.WeakKeyDictionary()
)


@dataclass
class Services:
    settings: Settings
    repo: Repository
    policies: PolicyStore
    extras: dict[str, Any] = field(default_factory=dict)


def attach(application: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    _REGISTRY[application] = svc


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    return _REGISTRY[application]


def services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    """The Services of the Application this callback runs in."""
    return _REGISTRY[context.application]
