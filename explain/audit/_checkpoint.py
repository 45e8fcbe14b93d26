"""Signed checkpoints: the log's size and root hash in a C2SP signed note, Ed25519 via ``cryptography``.

A checkpoint (C2SP ``tlog-checkpoint``) is three lines, ``<origin>\\n<size>\\n<base64 root>\\n``, followed by
a blank line and one signature line per signer (C2SP ``signed-note``)::

    — <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>

The key hash is the first 4 bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``. Keys are written the
way Go's ``golang.org/x/mod/sumdb/note`` writes them, so the log's public key works with the ecosystem's
tools: ``<name>+<hex key hash>+<base64(0x01 || public key)>`` (the "verifier key", safe to publish) and
``PRIVATE+KEY+<name>+<hex key hash>+<base64(0x01 || seed)>`` (the signing key: a file or secret named in
the settings, never the database). A witness's cosignature (C2SP ``tlog-cosignature``, algorithm 0x04)
signs ``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint's body.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "Signer",
    "Verifier",
    "cosign",
    "generate_key",
    "load_or_create_signer",
    "load_signer",
    "load_verifier",
    "verify_cosignature",
    "write_key",
]

_ED25519 = 0x01
_COSIGNATURE_V1 = 0x04
_DASH = "\u2014"


class CheckpointError(ValueError):
    """A checkpoint, note or key that cannot be read, or whose signature does not verify."""


def _key_hash(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise CheckpointError(f"A key name must be non-empty, without spaces or '+'; got {name!r}.")
    return name


@dataclass(frozen=True)
class Verifier:
    """A public key that checks signatures of one name (a log's, or a witness's)."""

    name: str
    key: Ed25519PublicKey
    alg: int = _ED25519

    @property
    def public_bytes(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self.key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_hash(self) -> bytes:
        return _key_hash(self.name, self.alg, self.public_bytes)

    def vkey(self) -> str:
        """The verifier key line: ``<name>+<hex key hash>+<base64(alg || public key)>``."""
        return f"{self.name}+{self.key_hash.hex()}+{base64.b64encode(bytes([self.alg]) + self.public_bytes).decode()}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        try:
            name, hash_hex, blob = vkey.strip().split("+", 2)
            raw = base64.b64decode(blob, validate=True)
            key = Ed25519PublicKey.from_public_bytes(raw[1:])
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"Not a verifier key (<name>+<hash>+<base64 key>): {vkey.strip()[:80]!r}.") from exc
        verifier = cls(_check_name(name), key, raw[0])
        if raw[0] not in (_ED25519, _COSIGNATURE_V1) or verifier.key_hash.hex() != hash_hex:
            raise CheckpointError(f"The verifier key {name!r} is not an Ed25519 key or its hash does not match.")
        return verifier


@dataclass(frozen=True)
class Signer:
    """The log's signing key (Ed25519) and the name its signatures carry (the log's origin)."""

    name: str
    key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key.public_key())

    def skey(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        seed = self.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return (f"PRIVATE+KEY+{self.name}+{self.verifier.key_hash.hex()}+"
                f"{base64.b64encode(bytes([_ED25519]) + seed).decode()}")

    def sign_note(self, body: str) -> str:
        """``body`` (newline-terminated) as a signed note with this key's signature line."""
        if not body.endswith("\n"):
            raise CheckpointError("A note's text must end with a newline.")
        signature = self.key.sign(body.encode("utf-8"))
        line = base64.b64encode(self.verifier.key_hash + signature).decode()
        return f"{body}\n{_DASH} {self.name} {line}\n"

    @classmethod
    def parse(cls, skey: str) -> Signer:
        try:
            private, key_word, name, hash_hex, blob = skey.strip().split("+", 4)
            raw = base64.b64decode(blob, validate=True)
            key = Ed25519PrivateKey.from_private_bytes(raw[1:])
        except (ValueError, TypeError) as exc:
            raise CheckpointError("Not a signing key (PRIVATE+KEY+<name>+<hash>+<base64 seed>).") from exc
        signer = cls(_check_name(name), key)
        if (private, key_word) != ("PRIVATE", "KEY") or raw[0] != _ED25519 or signer.verifier.key_hash.hex() != hash_hex:
            raise CheckpointError(f"The signing key {name!r} is not an Ed25519 key or its hash does not match.")
        return signer


def generate_key(name: str) -> Signer:
    """A new Ed25519 signing key for the log named ``name`` (its origin line, e.g. ``bank.example/explain``)."""
    return Signer(_check_name(name), Ed25519PrivateKey.generate())


def load_signer(path: str | Path) -> Signer:
    """The signing key kept in the file ``path`` (one ``PRIVATE+KEY+...`` line)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckpointError(f"Cannot read the log's signing key file {str(path)!r}: {exc.strerror}.") from exc
    return Signer.parse(text)


def load_or_create_signer(path: str | Path, *, create: bool, origin: str) -> Signer:
    """The key in ``path``; with ``create`` (the development default only) a new one is written there first."""
    path = Path(path)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_key(generate_key(origin), path)
        except FileExistsError:
            pass  # another worker made it first
    return load_signer(path)


def load_verifier(text_or_path: str | Path) -> Verifier:
    """A verifier key given inline (``name+hash+key``) or as a file holding that line."""
    text = str(text_or_path)
    if "+" not in text or os.path.exists(text):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise CheckpointError(f"Cannot read the public key file {str(text_or_path)!r}: {exc.strerror}.") from exc
    return Verifier.parse(text)


def write_key(signer: Signer, path: str | Path) -> None:
    """Write the signing key to a new file readable by its owner only (never overwrites)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(signer.skey() + "\n")


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log's ``origin``, its ``size`` and ``root`` hash, and the note as signed."""

    origin: str
    size: int
    root: bytes
    note: str

    @property
    def body(self) -> str:
        return self.note.split("\n\n", 1)[0] + "\n"

    @staticmethod
    def body_for(origin: str, size: int, root: bytes) -> str:
        return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"

    @classmethod
    def sign(cls, signer: Signer, size: int, root: bytes) -> Checkpoint:
        return cls(signer.name, size, root, signer.sign_note(cls.body_for(signer.name, size, root)))

    def signature_lines(self) -> list[str]:
        return [line for line in self.note.split("\n\n", 1)[1].splitlines() if line]

    def with_cosignatures(self, lines: list[str]) -> Checkpoint:
        """The same checkpoint with more signature lines (a witness's), each once."""
        have = self.signature_lines()
        extra = [line for line in lines if line and line not in have]
        return Checkpoint(self.origin, self.size, self.root, self.note + "".join(f"{line}\n" for line in extra))

    @classmethod
    def parse(cls, note: str, verifier: Verifier) -> Checkpoint:
        """Read a checkpoint and check the log's signature on it with ``verifier`` (a trusted public key)."""
        if "\n\n" not in note:
            raise CheckpointError("Not a signed note: no blank line between the text and the signatures.")
        body, sigs = note.split("\n\n", 1)
        lines = body.split("\n")
        if len(lines) < 3:
            raise CheckpointError("A checkpoint's text has three lines: origin, tree size, root hash.")
        origin, size_text, root_text = lines[:3]
        try:
            size = int(size_text)
            root = base64.b64decode(root_text, validate=True)
        except ValueError as exc:
            raise CheckpointError(f"A checkpoint's size and root must be a number and base64: {size_text!r}, {root_text!r}.") from exc
        if size < 0 or len(root) != 32 or size_text != str(size):
            raise CheckpointError("A checkpoint's size must be a plain number >= 0 and its root 32 bytes.")
        if origin != verifier.name:
            raise CheckpointError(f"The checkpoint is for the log {origin!r}, but the key given is {verifier.name!r}.")
        signed = (body + "\n").encode("utf-8")
        for line in sigs.splitlines():
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != _DASH or parts[1] != verifier.name:
                continue
            try:
                blob = base64.b64decode(parts[2], validate=True)
            except ValueError:
                continue
            if blob[:4] != verifier.key_hash:
                continue
            try:
                verifier.key.verify(blob[4:], signed)
            except InvalidSignature:
                raise CheckpointError(f"The signature of {verifier.name!r} on this checkpoint does not verify.") from None
            return cls(origin, size, root, note if note.endswith("\n") else note + "\n")
        raise CheckpointError(f"The checkpoint carries no signature by the key {verifier.name}+{verifier.key_hash.hex()}.")


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(witness: Ed25519PrivateKey, name: str, checkpoint: Checkpoint, *, timestamp: int | None = None) -> str:
    """A witness's cosignature line on ``checkpoint`` (C2SP tlog-cosignature)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    verifier = Verifier(name, witness.public_key(), _COSIGNATURE_V1)
    signature = witness.sign(_cosigned_message(checkpoint.body, stamp))
    return f"{_DASH} {name} {base64.b64encode(verifier.key_hash + struct.pack('>Q', stamp) + signature).decode()}"


def verify_cosignature(checkpoint: Checkpoint, witness: Verifier) -> int:
    """The time at which ``witness`` cosigned ``checkpoint``; raises when it has no valid cosignature."""
    for line in checkpoint.signature_lines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[1] != witness.name:
            continue
        blob = base64.b64decode(parts[2])
        if blob[:4] != witness.key_hash or len(blob) != 4 + 8 + 64:
            continue
        (stamp,) = struct.unpack(">Q", blob[4:12])
        try:
            witness.key.verify(blob[12:], _cosigned_message(checkpoint.body, stamp))
        except InvalidSignature:
            raise CheckpointError(f"The cosignature of witness {witness.name!r} does not verify.") from None
        return stamp
    raise CheckpointError(f"The checkpoint has no cosignature by witness {witness.name!r}.")
