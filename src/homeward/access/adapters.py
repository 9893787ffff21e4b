"""allauth adapters: no public sign-up, MFA secrets encrypted at rest, sign-ins audited."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.http import HttpRequest

from homeward.access.services import staff_account_event, staff_signed_in
from homeward.core.crypto import decrypt_value, encrypt_value

MFA_CONTEXT = "access.mfa.secret"


class StaffAccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_notification_mail(
        self, template_prefix: str, user: Any, context: dict[str, Any] | None = None, email: str | None = None
    ) -> None:
        # allauth calls this after every change a person makes to their own account (password changed or
        # reset, authenticator added or removed, recovery codes made): the moment to record it.
        staff_account_event(user=user, event=template_prefix.rsplit("/", 1)[-1])
        super().send_notification_mail(template_prefix, user, context, email)

    def login(self, request: HttpRequest, user: Any) -> None:
        super().login(request, user)
        staff_signed_in(user=user, ip=request.META.get("REMOTE_ADDR", ""))


class EncryptingMfaAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    def encrypt(self, text: str) -> str:
        return encrypt_value(text, context=MFA_CONTEXT)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_value(encrypted_text, context=MFA_CONTEXT)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # TOTP is mandatory for staff; it can be replaced by an administrator's reset, not removed.
        return bool(authenticator.type != Authenticator.Type.TOTP)
