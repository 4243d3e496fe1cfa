"""Reach the process's `Services` from any PTB callback: a weak registry keyed by the Application (not
`bot_data`, which PTB would try to persist)."""

from __future__ import annotations

import weakref
from typing import Any

from telegram.ext import Application, CallbackContext

from handlers.services import Services

_REGISTRY: weakref.WeakKeyDictionary[Application[Any, Any, Any, Any, Any, Any], Services] = (
    weakref.WeakKeyDictionary()
)


def attach(application: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    _REGISTRY[application] = svc


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    return _REGISTRY[application]


def services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    """The Services of the Application this callback runs in."""
    return _REGISTRY[context.application]
