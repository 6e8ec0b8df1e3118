"""Jobs panel: one row per background job with progress, its error in plain words, and
cancel / retry. It only reads Job fields on the UI thread, fed by QtJobs signals."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .qt_jobs import QtJobs

STATE_TEXT = {"queued": "Waiting", "running": "Working…", "done": "Done",
              "failed": "Failed", "cancelled": "Cancelled"}


class JobsPanel(QWidget):
    def __init__(self, jobs: QtJobs, parent: QWidget | None = None):
        super().__init__(parent)
        self.jobs = jobs
        self.rows: dict[int, QTreeWidgetItem] = {}
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["File", "Progress", "Status", ""])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)  # rows with and without buttons alike
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.Interactive)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(3, QHeaderView.Fixed)
        header.resizeSection(3, 170)
        self.tree.setColumnWidth(0, 220)
        self.tree.setColumnWidth(1, 140)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.clear_button)
        lay.addLayout(row)
        jobs.added.connect(self.add_job)
        jobs.changed.connect(self.update_job)

    def add_job(self, job: Any) -> None:
        item = QTreeWidgetItem(self.tree, [job.name, "", STATE_TEXT.get(job.state, job.state), ""])
        item.setData(0, Qt.UserRole, job)
        bar = QProgressBar()
        bar.setRange(0, 0 if job.state == "running" else 1)
        bar.setValue(0)
        bar.setMaximumHeight(16)
        cell = QWidget()  # a little air above and below, so the bars of rows do not touch
        pad = QVBoxLayout(cell)
        pad.setContentsMargins(0, 2, 0, 2)
        pad.addWidget(bar)
        self.tree.setItemWidget(item, 1, cell)
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        cancel, retry = QPushButton("Cancel"), QPushButton("Retry")
        cancel.clicked.connect(job.cancel)
        retry.clicked.connect(lambda: self.retry(job))
        retry.setVisible(False)
        row.addWidget(cancel)
        row.addWidget(retry)
        self.tree.setItemWidget(item, 3, buttons)
        item.setData(1, Qt.UserRole, (bar, cancel, retry))
        self.rows[job.id] = item
        self.update_job(job, job.state)

    def update_job(self, job: Any, event: str) -> None:
        item = self.rows.get(job.id)
        if item is None:
            return
        bar, cancel, retry = item.data(1, Qt.UserRole)
        done, total = job.progress
        if job.state == "queued":
            bar.setFormat("")
        if job.state == "running":
            bar.setFormat("%p%")
            if total > 0:
                bar.setRange(0, total)
                bar.setValue(done)
            else:
                bar.setRange(0, 0)  # busy until the first word is counted
        elif job.state == "done":
            bar.setRange(0, 1)
            bar.setValue(1)
            bar.setFormat("%p%")
        elif job.state in ("failed", "cancelled"):
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat("failed" if job.state == "failed" else "cancelled")
        status = STATE_TEXT.get(job.state, job.state)
        if job.state == "failed" and job.error:
            status = job.error
        elif job.state == "done" and job.note:
            status = job.note
        elif job.state == "running" and total:
            status = f"Working… {100 * done // max(total, 1)}%"
        item.setText(2, status)
        item.setToolTip(2, status)
        if event in ("started", "failed"):
            self.tree.scrollToItem(item)  # keep what is happening (or went wrong) in view
        final = job.state in ("done", "failed", "cancelled")
        cancel.setVisible(not final)
        retry.setVisible(job.state in ("failed", "cancelled") and job.retryable)

    def retry(self, job: Any) -> None:
        new = self.jobs.retry(job)
        if new is not None:
            self.remove(job)

    def remove(self, job: Any) -> None:
        item = self.rows.pop(job.id, None)
        if item is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))

    def clear_finished(self) -> None:
        for item in list(self.rows.values()):
            job = item.data(0, Qt.UserRole)
            if job.state in ("done", "cancelled"):
                self.remove(job)

    def status_text(self, job: Any) -> str:
        item = self.rows.get(job.id)
        return item.text(2) if item else ""
