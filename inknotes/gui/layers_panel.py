"""Layers panel: show/hide, lock, opacity (the scan's too), add, rename, reorder, delete.
Every change is a library call through the editor, so it can be undone like any edit."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

LOCKED = "  (locked)"


class LayersPanel(QWidget):
    """Top of the list is the top layer. ``activeLayerChanged(id)`` picks where new ink goes."""

    activeLayerChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor: Any = None
        self.page_id: int | None = None
        self._filling = False
        self.list = QListWidget()
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity_label = QLabel("Opacity")
        self.lock_button = QPushButton("Lock")
        self.lock_button.setCheckable(True)
        self.add_button = QPushButton("Add")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.delete_button = QPushButton("Delete")
        row1, row2 = QHBoxLayout(), QGridLayout()
        row1.addWidget(self.opacity_label)
        row1.addWidget(self.opacity, 1)
        row1.addWidget(self.lock_button)
        # two by two, so the panel can be narrow and leave the page the room on a small screen
        for k, b in enumerate((self.add_button, self.delete_button, self.up_button, self.down_button)):
            row2.addWidget(b, k // 2, k % 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list, 1)
        lay.addLayout(row1)
        lay.addLayout(row2)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.currentItemChanged.connect(self._on_current)
        # a drag applies on release; keys, the wheel and clicks on the groove apply once they
        # pause (one undo step for a run of PageDowns, not one per press)
        self._opacity_timer = QTimer(self, singleShot=True, interval=350)
        self._opacity_for: Any = None  # the layer the pending value is for (the list may move on)
        self._opacity_timer.timeout.connect(self._apply_opacity)
        self.opacity.sliderReleased.connect(self._opacity_changed)
        self.opacity.valueChanged.connect(lambda _v: None if self.opacity.isSliderDown()
                                          else self._opacity_changed())
        self.lock_button.toggled.connect(self._on_lock)
        self.add_button.clicked.connect(lambda: self.add_layer())
        self.up_button.clicked.connect(lambda: self.move_current(+1))
        self.down_button.clicked.connect(lambda: self.move_current(-1))
        self.delete_button.clicked.connect(self.delete_current)

    @property
    def library(self) -> Any:
        return self.editor.library if self.editor else None

    def set_page(self, editor: Any, page_id: int | None) -> None:
        self.editor, self.page_id = editor, page_id
        self.refresh()

    def layers(self) -> list[Any]:
        if self.library is None or self.page_id is None:
            return []
        return sorted(self.library.layers(self.page_id), key=lambda lay: lay.order, reverse=True)

    def refresh(self) -> None:
        current = self.current_id()
        self._filling = True
        self.list.clear()
        for layer in self.layers():
            lock = LOCKED if layer.locked else ""  # words, not an emoji that many fonts lack
            label = f"{layer.name}{lock}" + ("  (scan)" if layer.kind == "image" else "")
            item = QListWidgetItem(label)
            item.setData(Qt.UserRole, layer.id)
            item.setData(Qt.UserRole + 1, layer)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsEditable)
            item.setCheckState(Qt.Checked if layer.visible else Qt.Unchecked)
            self.list.addItem(item)
            if layer.id == current:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            ink = [i for i in range(self.list.count())
                   if self.list.item(i).data(Qt.UserRole + 1).kind == "ink"]
            self.list.setCurrentRow(ink[0] if ink else 0)
        self._filling = False
        self._sync_controls()

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(Qt.UserRole) if item else None

    def current_layer(self) -> Any:
        item = self.list.currentItem()
        return item.data(Qt.UserRole + 1) if item else None

    def _sync_controls(self) -> None:
        if self._opacity_timer.isActive():  # a value still pending goes to the layer it was for
            self._opacity_timer.stop()
            self._apply_opacity()
        layer = self.current_layer()
        enabled = layer is not None
        for w in (self.opacity, self.lock_button, self.up_button, self.down_button, self.delete_button):
            w.setEnabled(enabled)
        self.add_button.setEnabled(self.page_id is not None)
        if layer is not None:
            self.opacity.blockSignals(True)
            self.lock_button.blockSignals(True)
            self.opacity.setValue(round(float(layer.opacity) * 100))
            self.lock_button.setChecked(bool(layer.locked))
            self.opacity.blockSignals(False)
            self.lock_button.blockSignals(False)
            self.delete_button.setEnabled(layer.kind == "ink")

    def _on_current(self, *_: Any) -> None:
        if self._filling:
            return
        self._sync_controls()
        layer = self.current_layer()
        if layer is not None and layer.kind == "ink":
            self.activeLayerChanged.emit(layer.id)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        layer = item.data(Qt.UserRole + 1)
        visible = item.checkState() == Qt.Checked
        if visible != bool(layer.visible):
            self.editor.apply(self.library.set_layer_visible, layer.id, visible)
            return
        name = item.text().replace(LOCKED, "").replace("  (scan)", "").strip()
        if name and name != layer.name:
            self.editor.apply(self.library.rename_layer, layer.id, name)

    # ---- actions -------------------------------------------------------------------------
    def _opacity_changed(self) -> None:
        self._opacity_for = self.current_layer()
        self._opacity_timer.start()

    def _apply_opacity(self) -> None:
        self.set_opacity(self.opacity.value() / 100, self._opacity_for)

    def set_opacity(self, value: float, layer: Any = None) -> None:
        layer = layer or self.current_layer()
        if layer is not None and abs(float(layer.opacity) - float(value)) > 1e-6:
            self.editor.apply(self.library.set_layer_opacity, layer.id, float(value))

    def _on_lock(self, locked: bool) -> None:
        layer = self.current_layer()
        if layer is not None:
            self.editor.apply(self.library.set_layer_locked, layer.id, bool(locked))

    def add_layer(self, name: str | None = None) -> int | None:
        if self.page_id is None:
            return None
        names = {lay.name for lay in self.layers()}
        if name is None:
            name, k = "Layer", 2
            while name in names:
                name, k = f"Layer {k}", k + 1
        lid = self.editor.apply(self.library.add_layer, self.page_id, name)
        if lid is not None:
            self.select(lid)
        return lid

    def select(self, layer_id: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.UserRole) == layer_id:
                self.list.setCurrentRow(i)

    def move_current(self, delta: int) -> None:
        layer = self.current_layer()
        if layer is None:
            return
        orders = sorted(lay.order for lay in self.layers())
        scan = [lay.order for lay in self.layers() if lay.kind == "image"]
        lowest = orders[0] if layer.kind == "image" or not scan else min(scan) + 1
        new = min(max(layer.order + delta, lowest), orders[-1])  # ink stays above the scan
        if new != layer.order:
            self.editor.apply(self.library.reorder_layer, layer.id, new)

    def delete_current(self) -> None:
        layer = self.current_layer()
        if layer is not None and layer.kind == "ink":
            self.editor.apply(self.library.delete_layer, layer.id)
