"""Encryption of tenant secrets at rest (Fernet), with the key from `REVSYNC_SECRET_KEY`."""

import os

from cryptography.fernet import Fernet, InvalidToken

KEY_VARIABLE = "REVSYNC_SECRET_KEY"


class SecretKeyMissing(RuntimeError):
    pass


class SecretBox:
    def __init__(self, key: str | None = None) -> None:
        key = key or os.environ.get(KEY_VARIABLE)
        if not key:
            raise SecretKeyMissing(
                f"{KEY_VARIABLE} is not set: tenant secrets cannot be stored or read. "
                "Generate one with: python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())'"
            )
        try:
            self._fernet = Fernet(key.encode())
        except ValueError as error:
            raise SecretKeyMissing(f"{KEY_VARIABLE} is not a valid Fernet key: {error}") from None

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def open(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise SecretKeyMissing(
                f"a stored secret cannot be decrypted with this {KEY_VARIABLE}"
                " (was the key rotated?)"
            ) from None
