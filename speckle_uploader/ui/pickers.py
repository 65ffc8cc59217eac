"""Project and model pickers: type-to-search served by the server, pages loaded as the list scrolls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from speckle_uploader.jobs.destination import Destination
from speckle_uploader.speckle import Model, Page, Project, SpeckleError
from speckle_uploader.ui.context import AppContext
from speckle_uploader.ui.plain import clean, one_line, plain, tooltip
from speckle_uploader.ui.tasks import spawn

SEARCH_DELAY_MS = 300
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
PER_FILE = "per-file"
NEW_MODEL = "new-model"

Fetch = Callable[[str, str | None], Awaitable[Page[Any]]]


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
        self.fixed_items = 0  # items at the top that are not server results
        self.loaded = asyncio.Event()

    def _search_now(self) -> None:
        self._debounce.stop()
        self.reload()

    def clear(self) -> None:
        self._generation += 1
        self.list.clear()
        self.fixed_items = 0
        self._cursor = None
        self._seen_cursors.clear()
        self.status.clear()

    def add_fixed(self, text: str, data: object, tooltip: str = "") -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(ITEM_ROLE, data)
        item.setToolTip(tooltip)
        font = item.font()
        font.setItalic(True)
        item.setFont(font)
        self.list.insertItem(self.fixed_items, item)
        self.fixed_items += 1
        return item

    def reload(self) -> None:
        spawn(self.reload_now())

    async def reload_now(self) -> None:
        """Start again from the first page for the current search text."""
        self._generation += 1
        while self.list.count() > self.fixed_items:
            self.list.takeItem(self.list.count() - 1)
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
        for entry in page.items:
            self.list.addItem(self.make_item(entry))
        fresh = bool(page.items) and page.cursor is not None and page.cursor not in self._seen_cursors
        self._cursor = page.cursor if fresh else None
        self._seen_cursors.update([page.cursor] if page.cursor else [])
        shown = self.list.count() - self.fixed_items
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
    """Project above, model below; tells the context which target is chosen."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.projects = ProjectList("&Project", "Search projects")
        self.models = PagedList("&Model", "Search models")
        self.projects.fetch = self._fetch_projects
        self.models.fetch = self._fetch_models
        self.projects.chosen.connect(self._project_chosen)
        self.models.chosen.connect(self._model_chosen)
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
        elif self.project is not None and model_name is not None:
            await self.models.loaded.wait()
            if model_name == "":
                self.models.select_where(lambda m: m == PER_FILE)
            else:
                self.models.select_where(lambda m: isinstance(m, Model) and m.name == model_name)

    def _project_chosen(self, project: Project | None) -> None:
        self.project = project
        self.models.clear()
        self.models.setEnabled(project is not None)
        self.context.set_target(None)
        if project is None:
            return
        self.models.add_fixed("A model for each file", PER_FILE,
                              "Each file goes to a model named after it (created when missing)")
        if project.can_create_model.authorized:
            self.models.add_fixed("New model…", NEW_MODEL, "Create a model in this project")
        self.models.reload()

    def _model_chosen(self, choice: object) -> None:
        if self.project is None or choice is None:
            self.context.set_target(None)
            return
        if choice == NEW_MODEL:
            self.create_model()
            return
        model_name = None if choice == PER_FILE else choice.name  # type: ignore[attr-defined]
        self.context.set_target(Destination(self.project.id, self.project.name, model_name))

    def create_model(self) -> None:
        spawn(self.create_model_now())

    async def create_model_now(self) -> None:
        assert self.project is not None and self.context.session is not None
        name, ok = QInputDialog.getText(self, "New model", f"Name of the new model in “{one_line(self.project.name)}”:")
        name = name.strip()
        if not ok or not name:
            self.models.list.setCurrentRow(-1)
            return
        try:
            model = await self.context.session.client.create_model(self.project.id, name)
        except SpeckleError as exc:
            self.models.status.setText(str(exc))
            self.models.list.setCurrentRow(-1)
            return
        item = self.models.make_item(model)
        self.models.list.insertItem(self.models.fixed_items, item)
        self.models.list.setCurrentItem(item)
