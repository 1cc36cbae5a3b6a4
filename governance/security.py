"""Password strength rule used by AUTH_PASSWORD_VALIDATORS (settings, "security" section)."""

from __future__ import annotations

import string

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
