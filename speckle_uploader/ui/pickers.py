"""Project and model pickers: type-to-search served by the server, pages loaded as the list scrolls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from speckle_uploader.jobs.destination import Destination
from speckle_uploader.speckle import Model, Page, Project, SpeckleError
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.new_model import NewModelDialog
from speckle_uploader.ui.plain import clean, one_line, plain, tooltip
from speckle_uploader.ui.tasks import spawn

SEARCH_DELAY_MS = 300
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1

Fetch = Callable[[str, str | None], Awaitable[Page[Any]]]


def keep_selection_visible(widget: QWidget, palette: QPalette) -> None:
    """Give ``widget`` the highlight of ``palette``'s active group in every group: the chosen row stays as
    visible when focus is elsewhere (many styles draw an unfocused selection nearly invisibly)."""
    own = QPalette(widget.palette())
    for role in (QPalette.ColorRole.Highlight, QPalette.ColorRole.HighlightedText):
        colour = palette.color(QPalette.ColorGroup.Active, role)
        own.setColor(QPalette.ColorGroup.Active, role, colour)
        own.setColor(QPalette.ColorGroup.Inactive, role, colour)
    widget.setPalette(own)


class PagedList(QWidget):
    """A search field over a list filled page by page from the server."""

    chosen = Signal(object)  # the item's data, or None

    def __init__(self, title: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fetch: Fetch | None = None
        self.title = QLabel(f"<b>{title}</b>")
        self.search = QLineEdit()
        self.search.setPlaceholderText(placeholder)
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        self.list.setStyleSheet("QListWidget::item { padding: 3px 4px; }")
        keep_selection_visible(self.list, self.palette())
        self.status = plain(QLabel())
        self.status.setStyleSheet("color: palette(placeholder-text);")
        self.status.setWordWrap(True)
        self.title.setBuddy(self.search)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)
        self._debounce.timeout.connect(self.reload)
        self.search.textEdited.connect(lambda _text: self._debounce.start())
        self.search.returnPressed.connect(self._search_now)
        self.list.verticalScrollBar().valueChanged.connect(self._maybe_more)
        self.list.currentItemChanged.connect(self._current_changed)
        self._cursor: str | None = None
        self._seen_cursors: set[str] = set()  # a server that repeats a cursor must not page forever
        self._generation = 0
        self._loading = False
        self.loaded = asyncio.Event()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # e.g. the dark palette: follow it
            keep_selection_visible(self.list, self.palette())

    def _search_now(self) -> None:
        self._debounce.stop()
        self.reload()

    def clear(self) -> None:
        self._generation += 1
        self.list.clear()
        self._cursor = None
        self._seen_cursors.clear()
        self.status.clear()

    def reload(self) -> None:
        spawn(self.reload_now())

    async def reload_now(self) -> None:
        """Start again from the first page for the current search text."""
        self._generation += 1
        self.list.clear()
        self._cursor = None
        self._seen_cursors.clear()
        await self._load(self._generation)

    async def _load(self, generation: int) -> None:
        if self.fetch is None:
            return
        self._loading = True
        self.loaded.clear()
        self.status.setText("Loading…")
        try:
            page = await self.fetch(self.search.text().strip(), self._cursor)
        except SpeckleError as exc:
            if generation == self._generation:
                self.status.setText(str(exc))
            return
        finally:
            self._loading = False
        if generation != self._generation:  # a newer search answered first; drop this one
            return
        shown_ids = {getattr(self.list.item(row).data(ITEM_ROLE), "id", None) for row in range(self.list.count())}
        for entry in page.items:
            if getattr(entry, "id", None) is None or entry.id not in shown_ids:  # e.g. a model just created, put first
                self.list.addItem(self.make_item(entry))
        fresh = bool(page.items) and page.cursor is not None and page.cursor not in self._seen_cursors
        self._cursor = page.cursor if fresh else None
        self._seen_cursors.update([page.cursor] if page.cursor else [])
        shown = self.list.count()
        self.status.setText("Nothing found" if shown == 0 else
                            f"{shown} of {page.total_count}" if page.total_count > shown else "")
        self.loaded.set()
        self._maybe_more()

    def make_item(self, entry: Any) -> QListWidgetItem:
        item = QListWidgetItem(one_line(str(getattr(entry, "name", entry)), 200))
        item.setData(ITEM_ROLE, entry)
        return item

    def _maybe_more(self, *_args: object) -> None:
        bar = self.list.verticalScrollBar()
        if self._cursor and not self._loading and bar.value() >= bar.maximum() - 2:
            spawn(self._load(self._generation))

    def _current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        self.chosen.emit(current.data(ITEM_ROLE) if current is not None else None)

    def select_where(self, predicate: Callable[[Any], bool]) -> bool:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if predicate(item.data(ITEM_ROLE)) and item.flags() & Qt.ItemFlag.ItemIsSelectable:
                self.list.setCurrentItem(item)
                return True
        return False


class ProjectList(PagedList):
    def make_item(self, entry: Any) -> QListWidgetItem:
        item = super().make_item(entry)
        project: Project = entry
        if not project.can_publish.authorized:
            item.setText(f"{one_line(project.name, 200)}  (read-only)")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # visible, with its reason, but not choosable
            item.setForeground(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            item.setToolTip(tooltip(f"You cannot upload here: {project.can_publish.message}"))
        else:
            item.setToolTip(tooltip(f"Your role: {clean(project.role or '').removeprefix('stream:') or 'unknown'}"))
        return item


class TargetPicker(QWidget):
    """Project above, model below; tells the context which target is chosen.

    The model list holds only models: arrowing through it chooses models and nothing else. "A model for each
    file" is a check box and "New model…" a button above it, so neither acts on a mere change of selection."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.projects = ProjectList("&Project", "Search projects")
        self.models = PagedList("&Model", "Search models")
        self.projects.fetch = self._fetch_projects
        self.models.fetch = self._fetch_models
        self.projects.chosen.connect(self._project_chosen)
        self.models.chosen.connect(self._model_chosen)
        self.per_file = QCheckBox("A model for each &file")
        self.per_file.setToolTip("Each file goes to a model named after it (created when missing)")
        self.per_file.toggled.connect(self._per_file_toggled)
        self.new_model_button = QPushButton("&New model…")
        self.new_model_button.clicked.connect(self.ask_new_model)
        self.new_model_dialog: NewModelDialog | None = None
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.per_file)
        controls.addStretch(1)
        controls.addWidget(self.new_model_button)
        model_layout = self.models.layout()
        assert isinstance(model_layout, QVBoxLayout)
        model_layout.insertLayout(1, controls)  # under the title, above the search and the list
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        layout.addWidget(self.projects, 3)
        layout.addWidget(self.models, 2)
        self.project: Project | None = None
        self.models.setEnabled(False)

    async def _fetch_projects(self, search: str, cursor: str | None) -> Page[Project]:
        assert self.context.session is not None
        return await self.context.session.client.projects(search=search or None, cursor=cursor)

    async def _fetch_models(self, search: str, cursor: str | None) -> Page[Model]:
        assert self.context.session is not None and self.project is not None
        return await self.context.session.client.models(self.project.id, search=search or None, cursor=cursor,
                                                        limit=50)

    async def start(self) -> None:
        """Load the first page and bring back the last choice made on this server."""
        self.projects.clear()
        self.models.clear()
        self.project = None
        await self.projects.reload_now()
        project_id, model_name = self.context.remembered_target()
        wanted_project, wanted_model = self.context.wanted_ids
        self.context.wanted_ids = (None, None)
        if wanted_project:  # a project (or model) URL was pasted at sign-in: that one, not the last choice
            project_id, model_name = wanted_project, None
        if project_id and not self.projects.select_where(lambda p: p.id == project_id):
            try:
                assert self.context.session is not None
                project = await self.context.session.client.project(project_id)
            except SpeckleError:
                return
            if project.can_publish.authorized:
                self.projects.list.insertItem(0, self.projects.make_item(project))
                self.projects.select_where(lambda p: p.id == project_id)
        if self.project is not None and wanted_model:
            await self.models.loaded.wait()
            self.models.select_where(lambda m: isinstance(m, Model) and m.id == wanted_model)
        elif self.project is not None and model_name == "":
            self.per_file.setChecked(True)
        elif self.project is not None and model_name is not None:
            await self.models.loaded.wait()
            self.models.select_where(lambda m: isinstance(m, Model) and m.name == model_name)

    def _project_chosen(self, project: Project | None) -> None:
        self.project = project
        self.models.clear()
        self.models.setEnabled(project is not None)
        self.per_file.blockSignals(True)  # a new project starts with no model chosen
        self.per_file.setChecked(False)
        self.per_file.blockSignals(False)
        self._show_per_file(False)
        self.context.set_target(None)
        if project is None:
            return
        can_create = project.can_create_model.authorized
        self.new_model_button.setEnabled(can_create)
        self.new_model_button.setToolTip(
            "Create a model in this project" if can_create
            else tooltip(f"You cannot create models here: {project.can_create_model.message}"))
        self.models.reload()

    def _show_per_file(self, on: bool) -> None:
        """With a model per file, the list is not the choice: grey it out (it stays readable)."""
        self.models.list.setEnabled(not on)
        self.models.search.setEnabled(not on)

    def _per_file_toggled(self, on: bool) -> None:
        self._show_per_file(on)
        if on:
            self._set_model(None)
        else:
            self._model_chosen(self._current_model())

    def _current_model(self) -> Model | None:
        item = self.models.list.currentItem()
        data = item.data(ITEM_ROLE) if item is not None and item.isSelected() else None
        return data if isinstance(data, Model) else None

    def _model_chosen(self, choice: object) -> None:
        if self.per_file.isChecked():
            return  # the list is greyed out; the check box decides
        if self.project is None or not isinstance(choice, Model):
            self.context.set_target(None)
            return
        self._set_model(choice.name)

    def _set_model(self, model_name: str | None) -> None:
        if self.project is not None:
            self.context.set_target(Destination(self.project.id, self.project.name, model_name))

    def ask_new_model(self) -> None:
        """Open the New model dialog (window-modal, no nested event loop); cancelling it changes nothing."""
        if self.project is None:
            return
        dialog = NewModelDialog(self.project.name, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        project = self.project
        dialog.accepted.connect(lambda: self.create_model(project, dialog.model_name()))
        self.new_model_dialog = dialog
        dialog.destroyed.connect(lambda *_: setattr(self, "new_model_dialog", None))
        dialog.open()

    def create_model(self, project: Project, name: str) -> None:
        spawn(self.create_model_now(project, name))

    async def create_model_now(self, project: Project, name: str) -> None:
        assert self.context.session is not None
        self.models.status.setText("Creating…")
        try:
            model = await self.context.session.client.create_model(project.id, name)
        except SpeckleError as exc:
            self.models.status.setText(str(exc))
            return
        self.models.status.clear()
        if self.project is None or self.project.id != project.id:
            return  # another project was chosen meanwhile
        item = self.models.make_item(model)
        self.models.list.insertItem(0, item)
        self.per_file.setChecked(False)
        self.models.list.setCurrentItem(item)
