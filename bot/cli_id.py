"""The command line speaks Indonesian: click's and typer's own texts (help, "[default: ...]",
"[required]", usage and error messages, type names) translated.

Both libraries pass their texts through ``gettext`` (``from gettext import gettext as _`` in
each module); :func:`install` replaces that ``_`` (and ``ngettext``) in those modules with a
lookup in :data:`TEXTS`, and sets typer's help-panel constants. A text not listed stays as it is.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

TEXTS = {
    "Show this message and exit.": "Tampilkan bantuan ini lalu keluar.",
    "Show the version and exit.": "Tampilkan versi lalu keluar.",
    "Usage:": "Cara pakai:",
    "Options": "Pilihan",
    "Arguments": "Argumen",
    "Commands": "Perintah",
    "Positional arguments": "Argumen posisi",
    "Error": "Galat",
    "Aborted!": "Dibatalkan.",
    "Aborted.": "Dibatalkan.",
    "[default: {}]": "[bawaan: {}]",
    "[env var: {}]": "[variabel lingkungan: {}]",
    "[required]": "[wajib]",
    "default: {default}": "bawaan: {default}",
    "env var: {var}": "variabel lingkungan: {var}",
    "required": "wajib",
    "deprecated": "usang",
    "(deprecated) ": "(usang) ",
    "(dynamic)": "(dinamis)",
    "Try '{command} {option}' for help.": "Coba '{command} {option}' untuk bantuan.",
    "Try [blue]'{command_path} {help_option}'[/] for help.": (
        "Coba [blue]'{command_path} {help_option}'[/] untuk bantuan."
    ),
    "Error: {message}": "Galat: {message}",
    "Missing command.": "Perintahnya belum ada.",
    "No such command {name!r}.": "Tidak ada perintah {name!r}.",
    "No such option {name!r}.": "Tidak ada pilihan {name!r}.",
    "No such option: {name}": "Tidak ada pilihan: {name}",
    "Missing argument": "Argumen belum diisi",
    "Missing option": "Pilihan belum diisi",
    "Missing parameter": "Parameter belum diisi",
    "Missing parameter: {param_name}": "Parameter belum diisi: {param_name}",
    "Missing {param_type}": "{param_type} belum diisi",
    "argument": "argumen",
    "option": "pilihan",
    "parameter": "parameter",
    "Invalid value for {param_hint}: {message}": "Nilai tidak valid untuk {param_hint}: {message}",
    "Invalid value: {message}": "Nilai tidak valid: {message}",
    "Option {name!r} does not take a value.": "Pilihan {name!r} tidak memakai nilai.",
    "Option {name!r} requires an argument.": "Pilihan {name!r} perlu nilai.",
    "Option {name!r} requires {nargs} arguments.": "Pilihan {name!r} perlu {nargs} nilai.",
    "Argument {name!r} takes {nargs} values.": "Argumen {name!r} memerlukan {nargs} nilai.",
    "Got unexpected extra argument ({args})": "Ada argumen yang tidak dikenal ({args})",
    "Got unexpected extra arguments ({args})": "Ada argumen yang tidak dikenal ({args})",
    "Did you mean {possibility}?": "Maksud Anda {possibility}?",
    "(Did you mean one of: {possibilities}?)": "(Maksud Anda salah satu dari: {possibilities}?)",
    "{value!r} is not a valid {number_type}.": "{value!r} bukan angka yang valid.",
    "{value} is not in the range {range}.": "{value} di luar rentang {range}.",
    "{value!r} is not {choice}.": "{value!r} bukan {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} bukan salah satu dari {choices}.",
    "Choose from:\n\t{choices}": "Pilih dari:\n\t{choices}",
    "{value!r} does not match the format {format}.": "{value!r} tidak sesuai format {format}.",
    "{value!r} does not match the formats {formats}.": ("{value!r} tidak sesuai format {formats}."),
    "{value!r} is not a valid UUID.": "{value!r} bukan UUID yang valid.",
    "Value must be an iterable.": "Nilainya harus berupa daftar.",
    "file": "berkas",
    "directory": "folder",
    "path": "jalur",
    "{name} {filename!r} does not exist.": "{name} {filename!r} tidak ada.",
    "{name} {filename!r} is a file.": "{name} {filename!r} adalah berkas.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} adalah folder.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} tidak bisa dibaca.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} tidak bisa ditulisi.",
    "{name} {filename!r} is not executable.": "{name} {filename!r} tidak bisa dijalankan.",
    "Could not open file {filename!r}: {message}": (
        "Tidak bisa membuka berkas {filename!r}: {message}"
    ),
    "{len_type} values are required, but {len_value} was given.": (
        "Perlu {len_type} nilai, tetapi yang diberikan {len_value}."
    ),
    "{len_type} values are required, but {len_value} were given.": (
        "Perlu {len_type} nilai, tetapi yang diberikan {len_value}."
    ),
    "Takes {nargs} values but 1 was given.": "Perlu {nargs} nilai, tetapi yang diberikan 1.",
    "Takes {nargs} values but {len} were given.": (
        "Perlu {nargs} nilai, tetapi yang diberikan {len}."
    ),
    "Do you want to continue?": "Lanjutkan?",
    "Repeat for confirmation": "Ulangi untuk konfirmasi",
    "Error: The two entered values do not match.": "Galat: kedua nilai yang diketik tidak sama.",
    "Error: invalid input": "Galat: masukan tidak valid",
    "Confirm the action without prompting.": "Setujui tanpa ditanya.",
    "Press any key to continue...": "Tekan tombol apa saja untuk melanjutkan...",
    "unknown error": "galat tak dikenal",
}
# Type names in the help's type column (typer): the Python names, read by people.
TYPE_NAMES = {
    "str": "teks",
    "int": "angka",
    "float": "angka",
    "bool": "ya/tidak",
    "Path": "berkas",
    "path": "berkas",
    "datetime": "tanggal",
    "list[str]": "teks...",
    "list[int]": "angka...",
}
USAGE_WORDS = {"[OPTIONS]": "[PILIHAN]", "COMMAND": "PERINTAH", "[ARGS]": "[ARGUMEN]"}
_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.types",
    "click.utils",
    "click.termui",
    "typer.core",
    "typer.main",
    "typer.rich_utils",
)
_RICH_CONSTANTS = {
    "DEPRECATED_STRING": "(deprecated) ",
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}
# Error messages typer builds itself (its vendored click and pydantic), read by pattern.
ERRORS: list[tuple[str, str]] = [
    (r"Missing option '(.+?)'\.", r"Pilihan '\1' belum diisi."),
    (r"Missing argument '(.+?)'\.", r"Argumen '\1' belum diisi."),
    (r"Missing parameter: (.+)", r"Parameter belum diisi: \1"),
    (r"Missing command\.", "Perintahnya belum ada."),
    (r"No such command '(.+?)'\.", r"Tidak ada perintah '\1'."),
    (r"No such option: (\S+)", r"Tidak ada pilihan: \1"),
    (r"\(Possible options: (.+?)\)", r"(pilihan yang ada: \1)"),
    (r"\(Did you mean one of: (.+?)\?\)", r"(Maksud Anda salah satu dari: \1?)"),
    (r"Did you mean (.+?)\?", r"Maksud Anda \1?"),
    (r"Option '(.+?)' requires an argument\.", r"Pilihan '\1' perlu nilai."),
    (r"Option '(.+?)' requires (\d+) arguments\.", r"Pilihan '\1' perlu \2 nilai."),
    (r"Option '(.+?)' does not take a value\.", r"Pilihan '\1' tidak memakai nilai."),
    (r"Got unexpected extra arguments? ?(?:\(s\))? \((.+?)\)", r"Ada argumen berlebih (\1)"),
    (r"Invalid value for (.+?): ", r"Nilai tidak valid untuk \1: "),
    (r"Invalid value: ", "Nilai tidak valid: "),
    (r"Input should be a valid integer[^\n]*", "harus berupa bilangan bulat"),
    (r"Input should be a valid number[^\n]*", "harus berupa angka"),
    (r"Input should be a valid boolean[^\n]*", "harus ya atau tidak"),
    (r"Input should be greater than or equal to (\S+)", r"paling kecil \1"),
    (r"Input should be greater than (\S+)", r"harus lebih dari \1"),
    (r"Input should be less than or equal to (\S+)", r"paling besar \1"),
    (r"Input should be less than (\S+)", r"harus kurang dari \1"),
    (r"Input should be (.+)", r"harus \1"),
    (r"'(.+?)' is not a valid (?:integer|float|number)\.", r"'\1' bukan angka yang valid."),
    (r"(.+?) is not in the range (.+?)\.", r"\1 di luar rentang \2."),
    (r"'(.+?)' is not one of (.+?)\.", r"'\1' bukan salah satu dari \2."),
    (r"(?:File|Path|Directory) '(.+?)' does not exist\.", r"'\1' tidak ada."),
    (r"(?:File|Path) '(.+?)' is a directory\.", r"'\1' adalah folder, bukan berkas."),
    (r"Directory '(.+?)' is a file\.", r"'\1' adalah berkas, bukan folder."),
    (r"Could not open file '(.+?)': (.+)", r"Tidak bisa membuka berkas '\1': \2"),
]
_ERRORS = [(re.compile(a), b) for a, b in ERRORS]
_installed = False


def translate_error(message: str) -> str:
    for pattern, repl in _ERRORS:
        message = pattern.sub(repl, message)
    return message


def terjemah(message: str) -> str:
    return TEXTS.get(message, message)


def nterjemah(singular: str, plural: str, n: int) -> str:
    return terjemah(singular if n == 1 else plural)


def _type_label(display: Callable) -> Callable:
    def wrapper(self, ctx):
        label = display(self, ctx)
        if label is None:
            return None
        if getattr(self, "is_flag", False):
            return None  # a switch has no value to describe
        text = str(label)
        bare = text[1:-1] if text.startswith("<") and text.endswith(">") else text
        if bare in TYPE_NAMES:
            return f"<{TYPE_NAMES[bare]}>" if bare != text else TYPE_NAMES[bare]
        return label

    return wrapper


def install() -> None:
    """Translate click's and typer's texts (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = terjemah
        if hasattr(module, "ngettext"):
            module.ngettext = nterjemah
    try:
        from typer import core, rich_utils
    except ImportError:
        return
    for constant, english in _RICH_CONSTANTS.items():
        if hasattr(rich_utils, constant):
            setattr(rich_utils, constant, terjemah(english))
    _patch_vendored_click(rich_utils)
    for cls in (getattr(core, "TyperOption", None), getattr(core, "TyperArgument", None)):
        if cls is not None and hasattr(cls, "display_type_rich"):
            cls.display_type_rich = _type_label(cls.display_type_rich)


def _patch_vendored_click(rich_utils) -> None:
    """typer ships its own copy of click without gettext: patch the few places instead."""
    try:
        from typer._click import core as vcore
        from typer._click import formatting as vformatting
    except ImportError:
        return
    command = getattr(vcore, "Command", None)
    if command is not None and hasattr(command, "get_help_option"):
        original_help = command.get_help_option

        def get_help_option(self, ctx):
            opt = original_help(self, ctx)
            if opt is not None and getattr(opt, "help", None) in TEXTS:
                opt.help = TEXTS[opt.help]
            return opt

        command.get_help_option = get_help_option
    formatter = getattr(vformatting, "HelpFormatter", None)
    if formatter is not None and hasattr(formatter, "write_usage"):
        original_usage = formatter.write_usage

        def write_usage(self, prog, args="", prefix=None):
            for english, indonesian in USAGE_WORDS.items():
                args = args.replace(english, indonesian)
            prefix = terjemah("Usage:") + " " if prefix is None else prefix
            return original_usage(self, prog, args, prefix)

        formatter.write_usage = write_usage
    if hasattr(rich_utils, "rich_format_error"):
        original_error = rich_utils.rich_format_error

        def rich_format_error(self) -> None:
            english = self.format_message
            self.format_message = lambda: translate_error(english())
            try:
                original_error(self)
            finally:
                del self.format_message

        rich_utils.rich_format_error = rich_format_error
