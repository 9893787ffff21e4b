"""Writes about staff accounts, roles and API tokens; each with its audit event."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from homeward.access.models import ApiToken
from homeward.access.roles import Role
from homeward.audit.services import actor_of, audit_record
from homeward.core.errors import NotFoundError, ValidationError

TOKEN_PREFIX = "hwt_"  # noqa: S105 - a format tag, not a secret
TOKEN_LIFETIME = timedelta(days=90)

# Messages people read on pages and in the CLI; translated in the reader's language when raised.
ERR_USERNAME_TAKEN = gettext_noop("The user name %(username)s is already taken.")
ERR_UNKNOWN_ROLE = gettext_noop("Unknown role %(role)s; the roles are: %(roles)s.")
ERR_NO_ROLE = gettext_noop("A staff account needs at least one role.")
ERR_LAST_ADMIN = gettext_noop("This would leave no active administrator.")
ERR_USERNAME_REQUIRED = gettext_noop("A user name is required.")


def _roles(names: list[str] | tuple[str, ...] | set[str]) -> list[Role]:
    found = []
    for name in names:
        try:
            found.append(Role(name))
        except ValueError:
            raise ValidationError(
                _(ERR_UNKNOWN_ROLE) % {"role": name, "roles": ", ".join(r.value for r in Role)},
                [("", "roles", f"unknown role {name!r}")],
            ) from None
    if not found:
        raise ValidationError(_(ERR_NO_ROLE), [("", "roles", _(ERR_NO_ROLE))])
    return sorted(set(found))


def roles_ensure_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def staff_create(*, actor: Any, username: str, roles: list[str], email: str = "", password: str | None = None) -> Any:
    """Create a staff account; returns the user. A password is generated when none is given."""
    User = get_user_model()
    username = username.strip()
    if not username:
        raise ValidationError(_(ERR_USERNAME_REQUIRED), [("", "username", _(ERR_USERNAME_REQUIRED))])
    wanted = _roles(roles)
    password = password or generate_password()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            message = _(ERR_USERNAME_TAKEN) % {"username": username}
            raise ValidationError(message, [("", "username", message)])
        user = User(username=username, email=email.strip(), is_staff=False, is_superuser=False)
        try:
            user.clean_fields(exclude=["password", "last_login", "date_joined"])
        except DjangoValidationError as exc:
            problems = [("", f, m) for f, ms in exc.message_dict.items() for m in ms]
            raise ValidationError("; ".join(f"{f}: {m}" for _r, f, m in problems), problems) from None
        try:
            password_validation.validate_password(password, user)
        except DjangoValidationError as exc:
            raise ValidationError("; ".join(exc.messages), [("", "password", m) for m in exc.messages]) from None
        user.set_password(password)
        user.save()
        roles_ensure_groups()
        user.groups.set(Group.objects.filter(name__in=[r.value for r in wanted]))
        audit_record(
            actor=actor,
            action="access.staff.created",
            target=user,
            data={"username": username, "roles": [r.value for r in wanted]},
        )
    user.generated_password = password  # type: ignore[attr-defined]
    return user


def _active_admin_count() -> int:
    """Counts active administrators, locking their rows so that two demotions at once cannot both pass."""
    admins = get_user_model().objects.select_for_update().filter(is_active=True, groups__name=Role.ADMIN.value)
    return len(list(admins.values_list("pk", flat=True)))


def staff_set_roles(*, actor: Any, user_id: int, roles: list[str]) -> Any:
    User = get_user_model()
    wanted = _roles(roles)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        before = sorted(user.groups.filter(name__in=[r.value for r in Role]).values_list("name", flat=True))
        roles_ensure_groups()
        user.groups.set(Group.objects.filter(name__in=[r.value for r in wanted]))
        if _active_admin_count() == 0:
            raise ValidationError(_(ERR_LAST_ADMIN), [("", "roles", _(ERR_LAST_ADMIN))])
        audit_record(
            actor=actor,
            action="access.staff.roles_changed",
            target=user,
            data={"before": before, "after": [r.value for r in wanted]},
        )
    return user


def staff_set_active(*, actor: Any, user_id: int, active: bool) -> Any:
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        user.is_active = active
        user.save(update_fields=["is_active"])
        if _active_admin_count() == 0:
            raise ValidationError(_(ERR_LAST_ADMIN), [("", "is_active", _(ERR_LAST_ADMIN))])
        if not active:
            ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(
            actor=actor, action="access.staff.activated" if active else "access.staff.deactivated", target=user
        )
    return user


def staff_account_event(*, user: Any, event: str) -> None:
    """Record a change a person made to their own account through the sign-in pages (password, two-factor)."""
    with transaction.atomic():
        audit_record(actor=user, action=f"access.account.{event}", target=user)


def staff_signed_in(*, user: Any, ip: str) -> None:
    with transaction.atomic():
        audit_record(actor=user, action="access.session.signed_in", target=user, data={"ip": ip})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def api_token_create(*, actor: Any, user_id: int, name: str) -> tuple[ApiToken, str]:
    """Create a token; the secret is returned once and never stored."""
    name = name.strip() or "token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user_id=user_id,
            name=name[:100],
            prefix=secret[:12],
            digest=_digest(secret),
            expires_at=timezone.now() + TOKEN_LIFETIME,
        )
        audit_record(actor=actor, action="access.token.created", target=token, data={"user_id": user_id, "name": name})
    return token, secret


def api_token_revoke(*, actor: Any, token_id: int) -> None:
    """Revoke a token: its owner may, and so may an administrator."""
    who = getattr(actor, "pk", None)
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        is_admin = bool(who) and get_user_model().objects.filter(pk=who or 0, groups__name=Role.ADMIN.value).exists()
        if token is None or (token.user_id != who and not is_admin and who is not None):
            raise NotFoundError("token not found")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="access.token.revoked", target=token)


def api_token_user(secret: str) -> Any | None:
    """The active user a token acts for, or None; notes its last use at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(secret), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def staff_set_password(*, actor: Any, user_id: int, password: str | None = None) -> str:
    """Set (or generate) a new password; returns it so it can be handed over once."""
    password = password or generate_password()
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(actor=actor, action="access.staff.password_set", target=user)
    return password


def staff_enroll_totp(*, actor: Any, user_id: int) -> tuple[str, list[str]]:
    """Give an account a new TOTP secret and recovery codes (replacing any); returns them once."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        Authenticator.objects.filter(user=user).delete()
        totp = TOTP.activate(user, secret).instance
        # Set up by someone else: no session counts as having passed it until a code is entered.
        totp.data = {**totp.data, "homeward_enrolled_by": actor_of(actor).label}
        totp.save(update_fields=["data"])
        codes = RecoveryCodes.activate(user).get_unused_codes()
        audit_record(actor=actor, action="access.staff.mfa_enrolled", target=user)
    return secret, codes


def staff_reset_mfa(*, actor: Any, user_id: int) -> None:
    """Remove an account's authenticators (lost phone): it must set up TOTP again at next sign-in."""
    from allauth.mfa.models import Authenticator

    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        removed = Authenticator.objects.filter(user=user).delete()[0]
        audit_record(actor=actor, action="access.staff.mfa_reset", target=user, data={"removed": removed})
