"""Add or edit a watched folder: which files, where they go, what each version says, how long to wait."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from speckle_uploader.speckle.errors import SpeckleError
from speckle_uploader.speckle.models import Page, Project
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.pickers import ProjectList
from speckle_uploader.ui.tasks import spawn
from speckle_uploader.ui.watch_model import clean
from speckle_uploader.watch import ModelMode, PublishRule
from speckle_uploader.watch.files import is_ignored, matches
from speckle_uploader.watch.rules import DEFAULT_MESSAGE

EXAMPLE_LOOKS = 2000  # directory entries looked at for an example file (a share may be slow and huge)
DEFAULT_TEMPLATE = "{path}/{stem}"


def find_example(folder: Path, patterns: list[str], subfolders: bool) -> Path | None:
    """A file of ``folder`` the rule would publish, preferring one in a subfolder (it shows {path} at work)."""
    looked, first = 0, None
    folder = folder.expanduser()
    pending = [folder]
    while pending and looked < EXAMPLE_LOOKS:
        current = pending.pop(0)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            looked += 1
            if is_ignored(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if subfolders:
                        pending.append(Path(entry.path))
                elif matches(entry.name, patterns):
                    if current != folder:
                        return Path(entry.path)
                    first = first or Path(entry.path)
            except OSError:
                continue
    return first


def plain(label: QLabel, *, hint: bool = False) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if hint:
        label.setStyleSheet("color: palette(placeholder-text);")
    return label


def buddy(text: str, widget: QWidget) -> QLabel:
    """A form label whose Alt+letter moves to ``widget``."""
    label = QLabel(text)
    label.setBuddy(widget)
    return label


class RuleDialog(QDialog):
    """``rule`` given: edit it (same id, same pause state); else a new rule for ``context.target``."""

    def __init__(self, context: AppContext, parent: QWidget | None = None, rule: PublishRule | None = None) -> None:
        super().__init__(parent)
        assert context.session is not None
        self.context = context
        self.original = rule
        self.accepted_types = sorted(context.session.accepted_extensions)
        self.setWindowTitle("Edit watched folder" if rule else "Watch a folder")
        target = context.target
        self.project_id = rule.project_id if rule else (target.project_id if target else "")
        self.project_name = rule.project_name if rule else (target.project_name if target else "")
        self.example: Path | None = None
        self._build()
        if rule is not None:
            self.folder.setText(str(rule.folder))
            self.subfolders.setChecked(rule.subfolders)
            self.patterns.setText(" ".join(rule.patterns))
            {ModelMode.FIXED: self.one_model, ModelMode.PER_FILE: self.per_file,
             ModelMode.TEMPLATE: self.templated}[rule.model_mode].setChecked(True)
            edit = self.model_name if rule.model_mode is ModelMode.FIXED else self.template
            edit.setText(rule.model_name)
            self.message.setText(rule.message_template)
            self.settle.setValue(rule.settle_seconds)
        elif target is not None and target.model_name:
            self.model_name.setText(target.model_name)
            self.one_model.setChecked(True)
        else:
            self.per_file.setChecked(True)
        self.refresh()
        self._look_for_example()
        spawn(self._load_projects())

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("The folder your exports are saved to")
        choose = QPushButton("Choose…")
        choose.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(choose)
        self.subfolders = QCheckBox("Include subfolders")
        self.subfolders.setChecked(True)
        self.patterns = QLineEdit()
        kinds = " ".join(f"*.{e}" for e in self.accepted_types)
        self.patterns.setPlaceholderText("e.g. *.ifc  (empty: every type this server takes)")
        types_hint = plain(QLabel(f"This server takes {kinds}. Lock, temporary and backup files are always left "
                                  "out."), hint=True)

        self.projects = ProjectList("", "Search projects")
        self.projects.title.hide()
        self.projects.list.setMinimumHeight(100)
        self.projects.fetch = self._fetch_projects
        self.projects.chosen.connect(self._project_chosen)
        self.project_label = plain(QLabel(), hint=True)

        self.one_model = QRadioButton("One mo&del:")
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("e.g. architecture")
        self.per_file = QRadioButton("A model for &each file, named after it")
        self.templated = QRadioButton("A model named from a &template:")
        self.template = QLineEdit(DEFAULT_TEMPLATE)
        self.template.setToolTip("{path}: the subfolder path, {folder}: the file's folder, {stem}: the file's "
                                 "name without its extension; / makes nested models")
        self.modes = QButtonGroup(self)
        for button in (self.one_model, self.per_file, self.templated):
            self.modes.addButton(button)
        model_box = QVBoxLayout()
        model_box.setSpacing(4)
        for radio, edit in ((self.one_model, self.model_name), (self.per_file, None),
                            (self.templated, self.template)):
            row = QHBoxLayout()
            row.addWidget(radio)
            if edit is not None:
                row.addWidget(edit, 1)
            else:
                row.addStretch()
            model_box.addLayout(row)
        self.model_preview = plain(QLabel(), hint=True)
        model_box.addWidget(self.model_preview)

        self.message = QLineEdit(DEFAULT_MESSAGE)
        self.message.setToolTip("{file} the file's name, {modified} when it was saved, {host} this computer, "
                                "{user} you; anything else is kept as written")
        self.message_preview = plain(QLabel(), hint=True)
        self.settle = QDoubleSpinBox()
        self.settle.setRange(0, 3600)
        self.settle.setDecimals(1)
        self.settle.setValue(10.0)
        self.settle.setSuffix(" s")
        settle_row = QHBoxLayout()
        settle_row.addWidget(self.settle)
        settle_row.addWidget(plain(QLabel("without a change before a file is published"), hint=True), 1)

        self.problem = plain(QLabel())
        self.problem.setStyleSheet("color: #c62828;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Save" if self.original else "Start watching")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow(buddy("&Folder:", self.folder), folder_row)
        form.addRow("", self.subfolders)
        form.addRow(buddy("F&iles:", self.patterns), self.patterns)
        form.addRow("", types_hint)
        form.addRow(buddy("&Project:", self.projects.search), self.projects.search)
        form.addRow("", self.projects.list)
        form.addRow("", self.project_label)
        form.addRow("Model:", model_box)
        form.addRow(buddy("&Message:", self.message), self.message)
        form.addRow("", self.message_preview)
        form.addRow(buddy("&Settle for:", self.settle), settle_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(660, 600)

        for edit in (self.model_name, self.template, self.message, self.patterns):
            edit.textChanged.connect(self.refresh)
        self.folder.editingFinished.connect(self._look_for_example)
        self.folder.textChanged.connect(self.refresh)
        self.patterns.editingFinished.connect(self._look_for_example)
        self.subfolders.toggled.connect(self._look_for_example)
        self.modes.buttonToggled.connect(self.refresh)
        self.settle.valueChanged.connect(self.refresh)

    # -- the project -------------------------------------------------------------------------
    async def _fetch_projects(self, search: str, cursor: str | None) -> Page[Project]:
        assert self.context.session is not None
        return await self.context.session.client.projects(search=search or None, cursor=cursor)

    async def _load_projects(self) -> None:
        await self.projects.reload_now()
        wanted = self.project_id
        if not wanted or self.projects.select_where(lambda p: p.id == wanted):
            return
        try:
            assert self.context.session is not None
            project = await self.context.session.client.project(wanted)
        except SpeckleError:
            return
        if project.can_publish.authorized:
            self.projects.list.insertItem(0, self.projects.make_item(project))
            self.projects.select_where(lambda p: p.id == wanted)

    def _project_chosen(self, project: Project | None) -> None:
        if project is not None:
            self.project_id, self.project_name = project.id, project.name
        self.refresh()

    # -- the folder --------------------------------------------------------------------------
    def choose_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder to watch", self.folder.text())
        if chosen:
            self.folder.setText(chosen)
            self._look_for_example()

    def _look_for_example(self, *_args: object) -> None:
        spawn(self.look_for_example_now())

    async def look_for_example_now(self) -> None:
        """An example file of the folder for the previews (in a worker thread: the folder may be a slow share)."""
        text = self.folder.text().strip()
        folder = Path(text) if text else None
        patterns = self.patterns.text().split() or [f"*.{e}" for e in self.accepted_types]
        found = await asyncio.to_thread(find_example, folder, patterns, self.subfolders.isChecked()) \
            if folder is not None else None
        if self.folder.text().strip() == text:
            self.example = found
            self.refresh()

    # -- the rule ----------------------------------------------------------------------------
    def mode(self) -> ModelMode:
        if self.one_model.isChecked():
            return ModelMode.FIXED
        return ModelMode.TEMPLATE if self.templated.isChecked() else ModelMode.PER_FILE

    def rule(self) -> PublishRule | str:
        """The rule as filled in, or why it cannot be one (one sentence)."""
        text = self.folder.text().strip()
        if not text:
            return "Choose the folder to watch."
        folder = Path(text).expanduser()
        unchanged = self.original is not None and folder == self.original.folder
        if not unchanged and not folder.is_dir():
            return "This folder does not exist (or cannot be reached)."
        if not self.project_id:
            return "Choose the project the files go to."
        mode = self.mode()
        model = {ModelMode.FIXED: self.model_name.text().strip(), ModelMode.PER_FILE: "",
                 ModelMode.TEMPLATE: self.template.text().strip()}[mode]
        assert self.context.session is not None
        try:
            return PublishRule(folder, self.context.session.server.url, self.project_id,
                               project_name=self.project_name, model_mode=mode, model_name=model,
                               message_template=self.message.text(), subfolders=self.subfolders.isChecked(),
                               patterns=self.patterns.text().split(), settle_seconds=self.settle.value(),
                               id=self.original.id if self.original else None,
                               paused=self.original.paused if self.original else False)
        except ValueError as exc:
            return str(exc)

    def refresh(self, *_args: object) -> None:
        self.model_name.setEnabled(self.one_model.isChecked())
        self.template.setEnabled(self.templated.isChecked())
        self.project_label.setText(f"Publishing to: {clean(self.project_name, 120)}" if self.project_id
                                   else "Choose a project above.")
        result = self.rule()
        problem = result if isinstance(result, str) else ""
        self.problem.setText(problem)
        self.ok.setEnabled(not problem)
        self._previews(result if isinstance(result, PublishRule) else None)

    def _previews(self, rule: PublishRule | None) -> None:
        folder = Path(self.folder.text().strip() or "Exports")
        example = self.example or folder / "Tower A" / "ARC.ifc"
        if rule is None:
            self.model_preview.setText("")
            self.message_preview.setText("")
            return
        try:
            shown = example.relative_to(rule.folder).as_posix()
        except ValueError:
            shown = example.name
        model = rule.model_for(example).lower()  # as the server stores it
        self.model_preview.setText(f"For example {shown} → model “{clean(model, 120)}”")
        try:
            modified = example.stat().st_mtime
        except OSError:
            modified = time.time()
        self.message_preview.setText(f"Version message: {clean(rule.message_for(example, modified), 200)}")
