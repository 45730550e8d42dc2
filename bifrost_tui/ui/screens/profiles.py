"""Profiles screen: list, switch, add/edit with a validated form, delete with confirmation."""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from bifrost_tui.config.connection import demo_connection, open_connection
from bifrost_tui.config.errors import (
    ConcurrentModification,
    ConfigError,
    ProfileExists,
    ProfileFileError,
)
from bifrost_tui.config.model import Profile, normalize_url, validate_profile_name
from bifrost_tui.config.resolve import unset_key_warning
from bifrost_tui.config.store import ProfilesFile, ProfileStore
from bifrost_tui.textsafe import safe_text
from bifrost_tui.ui.screens.confirm import ConfirmScreen
from bifrost_tui.ui.screens.console_screen import ConsoleScreen
from bifrost_tui.ui.widgets.footer import KeyFooter

#: Said when another process (a CLI in another pane, an editor) wrote the file meanwhile.
CHANGED_ELSEWHERE = (
    "the profiles file was changed by another program since this screen read it; nothing was "
    "written. It has been reloaded:"
)

FIRST_RUN_HINT = (
    "No gateway profile yet. Press a to add one (name, URL, and the environment variable that "
    "holds your virtual key), or d to open the demo against the built-in simulated gateway "
    "(the same as `bifrost-tui --demo`)."
)


def profile_prompt(profile: Profile, is_default: bool, current: bool) -> Text:
    badges = []
    if is_default:
        badges.append(("default", "bold green"))
    if profile.read_only:
        badges.append(("RO", "bold reverse"))
    if current:
        badges.append(("current", "bold cyan"))
    parts: list[tuple[str, str] | str] = [(safe_text(profile.name, 64), "bold")]
    for badge in badges:
        parts += ["  ", badge]
    parts += ["\n  ", safe_text(profile.url, 100)]
    key = f"key from ${profile.virtual_key_env}" if profile.virtual_key_env else "no key"
    if profile.virtual_key is not None:
        key = "key stored in file (weaker)"
    parts += ["  ·  ", (key, "dim")]
    if profile.note:
        parts += ["\n  ", (safe_text(profile.note, 100), "italic dim")]
    return Text.assemble(*parts)


class ProfilesScreen(ConsoleScreen[None]):
    BINDINGS = [
        Binding("enter", "switch", "Switch", show=True, priority=False),
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("delete,x", "delete", "Delete"),
        Binding("u", "use", "Make default"),
        Binding("d", "demo", "Demo"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    ProfilesScreen #hint { padding: 1 2; color: $warning; }
    ProfilesScreen #file-error { padding: 1 2; color: $error; }
    ProfilesScreen #profile-list { height: 1fr; margin: 0 1; }
    ProfilesScreen #path, ProfilesScreen #keys { padding: 0 2; color: $text-muted; }
    """

    def __init__(self, *, first_run: bool = False, store: ProfileStore | None = None) -> None:
        super().__init__()
        self.first_run = first_run
        self.store = store or ProfileStore()
        self.loaded: ProfilesFile | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("Gateway profiles", style="bold"), id="title")
        yield Static(Text(f"file: {safe_text(str(self.store.path))}"), id="path")
        yield Static(
            Text("enter: switch to the highlighted profile (the batch view reloads)"), id="keys"
        )
        yield Static(Text(FIRST_RUN_HINT), id="hint")
        yield Static("", id="file-error", markup=False)
        yield OptionList(id="profile-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#hint").display = self.first_run
        self.reload()
        self.query_one("#profile-list").focus()

    def reload(self) -> None:
        error = self.query_one("#file-error", Static)
        options = self.query_one("#profile-list", OptionList)
        try:
            self.loaded = self.store.load()
        except ConfigError as exc:
            # A broken file is shown, never overwritten: every write action refuses below.
            self.loaded = None
            error.update(Text(f"Cannot use the profiles file:\n{exc}"))
            error.display = True
            options.clear_options()
            return
        error.display = False
        current = self.bapp.connection.profile_name
        options.set_options(
            Option(
                profile_prompt(p, self.loaded.default == name, current == name),
                id=name,
            )
            for name, p in self.loaded.profiles.items()
        )
        if options.option_count:
            # Highlight the current profile (else the first): enter, e and x act on it.
            names = list(self.loaded.profiles)
            options.highlighted = names.index(current) if current in names else 0

    def _selected(self) -> str | None:
        options = self.query_one("#profile-list", OptionList)
        option = options.highlighted_option
        return option.id if option is not None else None

    def _flash(self, message: str, severity: SeverityLevel = "information") -> None:
        self.notify(message, severity=severity, markup=False)

    # ---- actions -----------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#profile-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_switch()

    def action_switch(self) -> None:
        name = self._selected()
        if name is None:
            return
        try:
            connection = open_connection(
                profile=name,
                url=None,
                demo=False,
                read_only=self.bapp.connection.settings.read_only and not self.bapp.connection.demo,
                refresh=None,
                env=os.environ,
            )
        except ConfigError as exc:
            self._flash(str(exc), "error")
            return
        for warning in connection.settings.warnings:
            self._flash(warning, "warning")
        self.app.call_later(self.bapp.switch_connection, connection)

    def action_demo(self) -> None:
        self.app.call_later(self.bapp.switch_connection, demo_connection(clock=self.bapp.clock))

    def action_add(self) -> None:
        if self.loaded is None:
            self._flash("fix the profiles file first; nothing is written to a broken file", "error")
            return
        self._open_form(None)

    def action_edit(self) -> None:
        name = self._selected()
        if name is None or self.loaded is None:
            return
        self._open_form(self.loaded.profiles[name])

    @work
    async def _open_form(self, profile: Profile | None) -> None:
        saved = await self.app.push_screen_wait(ProfileForm(self.store, profile))
        if saved:
            self._flash(f"profile {saved} saved")
            self.reload()

    @work
    async def action_delete(self) -> None:
        name = self._selected()
        if name is None or self.loaded is None:
            return
        ok = await self.app.push_screen_wait(
            ConfirmScreen(
                "Delete this profile?",
                Text(
                    f"Profile {safe_text(name)} will be removed from {self.store.path}.\n"
                    "A backup of the previous file is kept beside it."
                ),
                "Delete",
            )
        )
        if not ok:
            return
        try:
            self.store.remove(name)
        except ConfigError as exc:
            self._refused(exc)
            return
        self._flash(f"profile {name} deleted")
        self.reload()

    def action_use(self) -> None:
        name = self._selected()
        if name is None:
            return
        try:
            self.store.set_default(name)
        except ConfigError as exc:
            self._refused(exc)
            return
        self._flash(f"{name} is now the default profile")
        self.reload()

    def _refused(self, exc: ConfigError) -> None:
        """A write was refused. When the file changed under us, re-read it, so the list shows
        what is really there and the operator's retry can succeed (never "reload and retry"
        forever against a stale read)."""
        if isinstance(exc, ConcurrentModification):
            self.reload()
            self._flash(f"{CHANGED_ELSEWHERE} check the list and try again", "warning")
            return
        self._flash(str(exc), "error")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2 or self.bapp.session is not None:
            self.app.pop_screen()
        else:
            self.app.exit(0)


# --------------------------------------------------------------------------- the form


class TextCheckbox(Checkbox):
    """A checkbox that reads ``[x]`` / ``[ ]``: its state is in the characters, so it reads the
    same without colour (``NO_COLOR``, 16 colours, a screen reader)."""

    @property
    def _button(self) -> Content:
        return Content.assemble("[", ("x" if self.value else " ", "bold"), "]")


FORM_FIELDS = ("name", "url", "virtual_key_env", "refresh", "accent", "note")


class ProfileForm(ModalScreen[str | None]):
    """Add or edit: every problem is shown beside its field, and nothing is saved until all pass."""

    DEFAULT_CSS = """
    ProfileForm { align: center middle; }
    ProfileForm > VerticalScroll {
        width: 80; max-width: 98%; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 0 2;
    }
    ProfileForm Label.field { margin-top: 0; }
    ProfileForm Label.error { color: $error; height: auto; width: 100%; }
    ProfileForm Input { margin: 0 0 0 2; background: $boost; border: round $border-blurred; }
    ProfileForm Input:focus { background: $primary 30%; border: heavy $accent; }
    ProfileForm TextCheckbox { margin-top: 1; border: round $border-blurred; }
    ProfileForm TextCheckbox:focus { border: heavy $accent; }
    ProfileForm Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    ProfileForm Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel_form", "Cancel")]

    def __init__(self, store: ProfileStore, profile: Profile | None) -> None:
        super().__init__()
        self.store = store
        self.profile = profile
        #: Problems that do not stop a save (a key variable not set here), by field.
        self.warnings: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        p = self.profile
        with VerticalScroll():
            yield Static(Text("Edit profile" if p else "Add profile", style="bold"))
            values: dict[str, str] = {
                "name": p.name if p else "",
                "url": p.url if p else "",
                "virtual_key_env": (p.virtual_key_env or "") if p else "BIFROST_VK",
                "refresh": f"{p.refresh:g}" if p else "5",
                "accent": (p.accent or "") if p else "",
                "note": (p.note or "") if p else "",
            }
            labels = {
                "name": "Name (letters, digits, . _ -)",
                "url": "Gateway URL (https://host[/prefix]; no credentials)",
                "virtual_key_env": "Environment variable holding the virtual key (empty: no key)",
                "refresh": "Refresh interval (seconds)",
                "accent": "Accent colour (e.g. red, #aa0000) so this gateway looks different",
                "note": "Note",
            }
            for field in FORM_FIELDS:
                yield Label(labels[field], classes="field", markup=False)
                yield Input(
                    value=values[field],
                    id=f"f-{field}",
                    disabled=bool(p and field == "name"),
                )
                yield Label("", id=f"e-{field}", classes="error", markup=False)
            yield TextCheckbox(
                "Read-only (never cancel through this profile)",
                p.read_only if p else False,
                id="f-read_only",
            )
            # Problems with the file itself (changed or broken by another program), not a field.
            yield Label("", id="e-form", classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        for label in self.query("Label.error"):
            label.display = False  # shown when it has something to say
        self.query_one("#f-url" if self.profile else "#f-name", Input).focus()

    def action_cancel_form(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.save()

    def _value(self, field: str) -> str:
        return self.query_one(f"#f-{field}", Input).value.strip()

    def validate(self) -> tuple[dict[str, str], dict[str, Any]]:
        """Return (errors by field, settings). Errors never repeat a value that may be secret."""
        errors: dict[str, str] = {}
        settings: dict[str, Any] = {}
        self.warnings = {}
        name = self.profile.name if self.profile else self._value("name")
        try:
            validate_profile_name(name)
        except ValueError as exc:
            errors["name"] = str(exc)
        if self.profile is None and "name" not in errors:
            loaded = self.store.load()
            if name in loaded.profiles:
                errors["name"] = f"a profile named {safe_text(name)} already exists"
        try:
            settings["url"] = normalize_url(self._value("url"))
        except ValueError as exc:
            errors["url"] = str(exc)
        env_name = self._value("virtual_key_env")
        if env_name:
            if not env_name.replace("_", "a").isalnum() or env_name[0].isdigit():
                errors["virtual_key_env"] = (
                    "must be an environment variable name (letters, digits, _)"
                )
            else:
                # Not set here is not a reason to refuse: the profile may be for another shell
                # or machine. Saved, with a warning (connecting sends no key until it is set).
                warning = unset_key_warning(env_name, os.environ)
                if warning is not None:
                    self.warnings["virtual_key_env"] = (
                        f"warning: {warning} (saved anyway: export it where the console runs)"
                    )
            settings["virtual_key_env"] = env_name
        else:
            settings["virtual_key_env"] = ""
        refresh = self._value("refresh")
        try:
            value = float(refresh)
            if not 1 <= value <= 86400:
                raise ValueError
            settings["refresh"] = value
        except ValueError:
            errors["refresh"] = "a number of seconds between 1 and 86400"
        accent = self._value("accent")
        settings["accent"] = accent or None
        note = self._value("note")
        settings["note"] = note or None
        settings["read_only"] = self.query_one("#f-read_only", Checkbox).value
        return errors, settings

    def save(self) -> None:
        form_error = ""
        try:
            errors, settings = self.validate()
        except ConfigError as exc:  # the file broke under us (validate reads it for a new name)
            errors, settings = {}, {}
            form_error = str(exc)
        if not errors and not form_error:
            name = self.profile.name if self.profile else self._value("name")
            try:
                if self.profile is None:
                    self.store.add(name, {k: v for k, v in settings.items() if v is not None})
                else:
                    self.store.edit(name, settings)
            except ProfileExists as exc:
                errors["name"] = str(exc)
            except ConcurrentModification:
                form_error = self._reread()
            except ProfileFileError as exc:
                # Broken by another program (an editor saved half a file): never overwritten.
                form_error = str(exc)
            except ConfigError as exc:
                text = str(exc)
                field = next((f for f in FORM_FIELDS if f in text), "url")
                errors[field] = text
        for field in FORM_FIELDS:
            said = errors.get(field) or self.warnings.get(field, "")
            label = self.query_one(f"#e-{field}", Label)
            label.update(Text(said))
            label.display = bool(said)
        message = self.query_one("#e-form", Label)
        message.update(Text(form_error))
        message.display = bool(form_error)
        if not errors and not form_error:
            for warning in self.warnings.values():
                self.app.notify(warning, severity="warning", markup=False)
            self.dismiss(self.profile.name if self.profile else self._value("name"))

    def _reread(self) -> str:
        """Re-read the file after another program changed it; the words to show in the form."""
        try:
            self.store.load()
        except ConfigError as exc:
            return f"{CHANGED_ELSEWHERE} it cannot be used now:\n{exc}"
        action = "your changes to these fields" if self.profile else "the new profile"
        return f"{CHANGED_ELSEWHERE} press Save again to write {action}, or Cancel."


__all__ = ["ProfileForm", "ProfilesScreen", "Vertical"]
