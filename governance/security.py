"""Password strength rule used by AUTH_PASSWORD_VALIDATORS (settings, "security" section)."""

from __future__ import annotations

import string

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

CLASSES = (
    ("大写字母", lambda ch: ch.isascii() and ch.isupper()),
    ("小写字母", lambda ch: ch.isascii() and ch.islower()),
    ("数字", lambda ch: ch.isdigit()),
    ("符号", lambda ch: ch in string.punctuation or (not ch.isalnum() and not ch.isspace())),
)


class CharacterClassesValidator:
    """A password must mix at least `min_classes` of: upper case, lower case, digits, symbols."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def classes_in(self, password: str) -> int:
        return sum(1 for _, test in CLASSES if any(test(ch) for ch in password))

    def validate(self, password: str, user=None) -> None:
        if self.classes_in(password) < self.min_classes:
            raise ValidationError(
                f"密码须包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类。",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return f"密码须包含大写字母、小写字母、数字、符号中的至少 {self.min_classes} 类。"


# Look-alike characters people put in a common word to pass "must contain a digit and a symbol".
_LOOK_ALIKES = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s",
                              "7": "t", "+": "t", "9": "g", "8": "b"})
_DECORATION = string.digits + string.punctuation + " "


class GuessablePasswordValidator:
    """A common password or the user's own name, dressed up, is still guessed first: "P@ssw0rd123",
    "Admin@2024", "Zhangsan#1". The core of the password (the decoration of digits and symbols around it
    stripped, look-alike characters read as letters) must not be a common password (Django's list) nor
    contain, or be contained in, the username."""

    def __init__(self, min_name_length: int = 4):
        self.min_name_length = min_name_length

    @staticmethod
    def cores(password: str) -> set[str]:
        lowered = password.lower()
        stripped = lowered.strip(_DECORATION)
        return {core for core in (stripped, stripped.translate(_LOOK_ALIKES), lowered.translate(_LOOK_ALIKES).strip(
            _DECORATION)) if core}

    def validate(self, password: str, user=None) -> None:
        common = CommonPasswordValidator().passwords
        cores = self.cores(password)
        if any(core in common for core in cores):
            raise ValidationError("密码是常见密码加上数字或符号的变形（如 P@ssw0rd123），很容易被猜中，请换一个。",
                                  code="password_guessable")
        name = (getattr(user, "username", "") or "").lower()
        if len(name) >= self.min_name_length and any(name in core or (len(core) >= self.min_name_length and core in name)
                                                     for core in cores):
            raise ValidationError("密码不能由用户名变形而来。", code="password_like_username")

    def get_help_text(self) -> str:
        return "密码不能是常见密码或用户名加上数字、符号的变形。"
