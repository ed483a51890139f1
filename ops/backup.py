"""Encrypted database backups: pg_dump's custom format, streamed through AES-256-GCM.

File layout (all integers big-endian):

    magic      b"SOSEDI-BACKUP\\x01"          14 bytes
    scrypt     log2(n), r, p                   3 bytes
    salt                                      16 bytes
    nonce      prefix of every chunk's nonce   7 bytes
    chunks     length (4 bytes) + ciphertext of up to CHUNK bytes, with its 16-byte tag

The key is scrypt(passphrase, salt); chunk i is sealed with nonce = prefix ‖ i (4 bytes) ‖
last (1 byte: 1 on the final chunk, which may be empty) and the header as associated data.
So a chunk cannot be altered, reordered, dropped or moved to another file, and a file cut
short is noticed. Nothing is written in the clear: the dump goes from pg_dump's stdout
through memory into the cipher, and from the cipher into pg_restore's stdin.
"""

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"SOSEDI-BACKUP\x01"
CHUNK = 1024 * 1024
# scrypt at n = 2^17, r = 8 takes 128 MiB and about half a second: cheap once per backup,
# costly for anyone guessing passphrases.
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 17, 8, 1
MIN_PASSPHRASE = 12
_HEADER = struct.Struct(">14sBBB16s7s")
_LENGTH = struct.Struct(">I")


class BackupError(Exception):
    """A backup that cannot be written or read: the message says why."""


def _key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"The backup passphrase must be at least {MIN_PASSPHRASE} characters.")
    if not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise BackupError("Not a Sosedi backup (unusual key parameters).")
    kdf = Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p)
    return kdf.derive(passphrase.encode())


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 2**32:
        raise BackupError("The dump is too large for one backup file.")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def encrypt_stream(source: BinaryIO, target: BinaryIO, *, passphrase: str) -> int:
    """Encrypt everything `source` yields into `target`; returns the plaintext size."""
    salt, prefix = os.urandom(16), os.urandom(7)
    header = _HEADER.pack(MAGIC, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt, prefix)
    aead = AESGCM(_key(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P))
    target.write(header)
    total, index = 0, 0
    current = source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if current else b""
        last = not following
        sealed = aead.encrypt(_nonce(prefix, index, last), current, header)
        target.write(_LENGTH.pack(len(sealed)))
        target.write(sealed)
        total += len(current)
        if last:
            return total
        current, index = following, index + 1


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = source.read(size - len(data))
        if not more:
            break
        data += more
    return data


def decrypt_stream(source: BinaryIO, *, passphrase: str) -> Iterator[bytes]:
    """The plaintext of a backup, chunk by chunk, each checked before it is yielded.

    Raises BackupError for a wrong passphrase, a damaged, truncated or foreign file.
    """
    header = _read_exactly(source, _HEADER.size)
    if len(header) != _HEADER.size or not header.startswith(MAGIC):
        raise BackupError("Not a Sosedi backup file.")
    _magic, log2_n, r, p, salt, prefix = _HEADER.unpack(header)
    aead = AESGCM(_key(passphrase, salt, log2_n, r, p))
    index = 0
    while True:
        length_bytes = _read_exactly(source, _LENGTH.size)
        if len(length_bytes) != _LENGTH.size:
            raise BackupError("The backup file is cut short.")
        (length,) = _LENGTH.unpack(length_bytes)
        if not 16 <= length <= CHUNK + 16:
            raise BackupError("The backup file is damaged.")
        sealed = _read_exactly(source, length)
        if len(sealed) != length:
            raise BackupError("The backup file is cut short.")
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, index, last), sealed, header)
                break
            except InvalidTag:
                continue
        else:
            if index == 0:
                raise BackupError("Wrong passphrase, or the backup file is damaged.")
            raise BackupError(f"The backup file is damaged (part {index + 1}).")
        yield plain
        if last:
            if source.read(1):
                raise BackupError("The backup file has data after its end.")
            return
        index += 1


# --- PostgreSQL --------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: the cluster's own version first, else the one on PATH."""
    for candidate in (f"/usr/lib/postgresql/15/bin/{name}", shutil.which(name)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(f"{name} is not installed (Debian: postgresql-client-15).")


def connection_args(db: dict) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment for a Django database settings dict."""
    args = ["--host", db.get("HOST") or "127.0.0.1", "--port", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args + ["--dbname", db["NAME"]], env


def dump(db: dict, target: BinaryIO, *, passphrase: str) -> int:
    """pg_dump (custom format) of `db`, encrypted into `target`; the plaintext size."""
    args, env = connection_args(db)
    process = subprocess.Popen(  # noqa: S603 (fixed arguments, no shell)
        [pg_tool("pg_dump"), "--format=custom", "--compress=6", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        size = encrypt_stream(process.stdout, target, passphrase=passphrase)
    except BaseException:
        process.kill()
        process.wait()
        raise
    stderr = process.stderr.read().decode(errors="replace")
    if process.wait() != 0:
        raise BackupError(f"pg_dump failed: {stderr.strip()}")
    return size


def restore(db: dict, source: BinaryIO, *, passphrase: str) -> None:
    """Decrypt a backup into pg_restore, in one transaction: all of it or nothing.

    The first chunk is checked before pg_restore starts, so a wrong passphrase never
    touches the database; a bad chunk later kills pg_restore before it can commit.
    """
    chunks = decrypt_stream(source, passphrase=passphrase)
    first = next(chunks)
    args, env = connection_args(db)
    process = subprocess.Popen(  # noqa: S603
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            *args,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        process.stdin.write(first)
        for chunk in chunks:
            process.stdin.write(chunk)
    except BaseException as exc:
        process.kill()  # before its COMMIT: the transaction is rolled back
        process.wait()
        if isinstance(exc, BrokenPipeError):
            raise BackupError(
                f"pg_restore failed: {process.stderr.read().decode(errors='replace')}"
            ) from exc
        raise
    process.stdin.close()
    stderr = process.stderr.read().decode(errors="replace")
    if process.wait() != 0:
        raise BackupError(f"pg_restore failed (nothing was restored): {stderr.strip()}")
