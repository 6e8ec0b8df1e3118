"""Settings dialog: engine, watch folder on/off and path, default export folder, theme.
Values persist through inknotes.settings (JSON in the user's config folder)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import settings
from ..derender import engine_names

THEMES = ("system", "light", "dark")


def _folder_row(edit: QLineEdit, parent: QWidget, title: str) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    button = QPushButton("Choose…")

    def pick() -> None:
        d = QFileDialog.getExistingDirectory(parent, title, edit.text())
        if d:
            edit.setText(d)

    button.clicked.connect(pick)
    row.addWidget(button)
    return row


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        values = settings.load()
        self.engine = QComboBox()
        self.engine.addItems(engine_names())
        current = values.get("engine") or "tracer"
        self.engine.setCurrentText(current)
        k = self.engine.findText("inksight")
        if k >= 0 and not values.get("inksight_model"):
            tip = "No InkSight model is set: run `inknotes model add DIR` with the downloaded model first"
            self.engine.setItemData(k, tip, Qt.ToolTipRole)
            if current != "inksight":  # a choice made before stays visible, not silently changed
                self.engine.model().item(k).setEnabled(False)
        self.watch_enabled = QCheckBox("Convert new images that appear in the watch folder")
        self.watch_enabled.setChecked(bool(values.get("watch_enabled")))
        self.watch_folder = QLineEdit(values.get("watch_folder") or "")
        self.export_folder = QLineEdit(values.get("export_folder") or "")
        self.theme = QComboBox()
        self.theme.addItems(THEMES)
        self.theme.setCurrentText(values.get("theme") or "system")
        form = QFormLayout()
        form.addRow("Engine", self.engine)
        form.addRow("", self.watch_enabled)
        form.addRow("Watch folder", _folder_row(self.watch_folder, self, "Watch folder"))
        form.addRow("Export folder", _folder_row(self.export_folder, self, "Default export folder"))
        self.export_folder.setToolTip("Where the export dialog starts; each export remembers the folder "
                                      "it wrote to, as the next start")
        self.export_folder.setPlaceholderText("the last folder exported to")
        form.addRow("Theme", self.theme)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)

    def values(self) -> dict[str, Any]:
        return {"engine": self.engine.currentText(), "watch_enabled": self.watch_enabled.isChecked(),
                "watch_folder": self.watch_folder.text().strip() or None,
                "export_folder": self.export_folder.text().strip() or None,
                "theme": self.theme.currentText()}

    def save(self) -> dict[str, Any]:
        return settings.update(**self.values())
