# -*- coding: utf-8 -*-
# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the collection's errors into AnsibleFilterError at the filter edge (internal API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ._errors import VoiceopsError
from ._views import ViewError


class FilterArgumentError(ValueError):
    """Bad input or argument to a filter; the message names the argument (``as_filter`` adds the filter)."""


def as_filter(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``func`` as the filter ``voiceops.firewall.<name>``: its errors name the filter and the argument."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ViewError, FilterArgumentError) as exc:
            raise AnsibleFilterError("voiceops.firewall.%s: %s" % (name, exc)) from exc
        except VoiceopsError as exc:
            raise AnsibleFilterError("voiceops.firewall.%s: %s" % (name, exc.message)) from exc
    wrapper.__name__ = name
    wrapper.__doc__ = func.__doc__
    return wrapper
