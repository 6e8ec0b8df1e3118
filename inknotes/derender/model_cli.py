"""``inknotes model add DIR | show | remove | mode MODE``: remember the user's InkSight model.

The model is never downloaded by inknotes; the user unzips the authors' Small-p SavedModel and
adds its folder here. ``add`` loads the model's signature once, so a wrong folder fails now
rather than in the middle of a conversion. Top-level imports stay light (no TensorFlow).
"""
from __future__ import annotations

import argparse
import sys

from ..errors import InknotesError

MODE_CHOICES = ["vanilla", "text", "recognize"]


def _fail(e: InknotesError) -> int:
    from ..cli import report
    report(e.path, e.message)
    return 1


def cmd_add(args: argparse.Namespace) -> int:
    from .. import settings
    from .inksight import load_model, normalize_mode
    try:
        mode = normalize_mode(args.mode) if args.mode else None
        model = load_model(args.dir)
    except InknotesError as e:
        return _fail(e)
    changes = {"inksight_model": str(model.path)}
    if mode:
        changes["inksight_mode"] = mode
    if args.default:
        changes["engine"] = "inksight"
    try:
        settings.update(**changes)
    except InknotesError as e:
        return _fail(e)
    where = "GPU" if model.on_gpu else "CPU"
    print(f"InkSight model set: {model.path} (runs on the {where}).")
    if model.runtime.notice:
        print(f"inknotes: {model.runtime.notice}", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .. import settings
    values = settings.load()
    path = values.get("inksight_model")
    print(f"model:  {path or '(none; run `inknotes model add DIR`)'}")
    print(f"mode:   {values.get('inksight_mode') or 'vanilla'}")
    print(f"engine: {values.get('engine') or 'tracer'}")
    if path:
        from .inksight import check_model_dir
        try:
            check_model_dir(path)
        except InknotesError as e:
            return _fail(e)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from .. import settings
    values = settings.load()
    changes: dict = {"inksight_model": None}
    if values.get("engine") == "inksight":
        changes["engine"] = "tracer"
    try:
        settings.update(**changes)
    except InknotesError as e:
        return _fail(e)
    print("InkSight model forgotten (the folder itself is left as it is).")
    return 0


def cmd_mode(args: argparse.Namespace) -> int:
    from .. import settings
    from .inksight import normalize_mode
    try:
        mode = normalize_mode(args.mode)
        settings.update(inksight_mode=mode)
    except InknotesError as e:
        return _fail(e)
    print(f"InkSight mode: {mode}")
    return 0


def register(subparsers) -> None:
    """Add ``inknotes model ...`` to the main parser."""
    p = subparsers.add_parser(
        "model", help="set up the InkSight model (add | show | remove | mode)",
        description="Remember where the InkSight Small-p SavedModel is (download and unzip it yourself) "
                    "and which prompt mode to use.")
    sub = p.add_subparsers(dest="model_command", metavar="ACTION")
    sub.required = True
    a = sub.add_parser("add", help="check a SavedModel folder and remember it",
                       description="Load the SavedModel once (TensorFlow needed) to check that it is the "
                                   "InkSight model, then remember its folder in the settings, so "
                                   "`--engine inksight` finds it. Nothing is downloaded.")
    a.add_argument("dir", metavar="DIR", help="the unzipped InkSight SavedModel folder")
    a.add_argument("--mode", help="also set the mode: vanilla, text or recognize")
    a.add_argument("--default", action="store_true", help="also make inksight the default engine")
    a.set_defaults(func=cmd_add)
    s = sub.add_parser("show", help="print the model folder, mode and default engine",
                       description="Print the remembered InkSight model folder, the prompt mode and the "
                                   "default engine.")
    s.set_defaults(func=cmd_show)
    r = sub.add_parser("remove", help="forget the model folder",
                       description="Forget the remembered model folder (the files stay where they are) "
                                   "and make the built-in tracer the default engine again.")
    r.set_defaults(func=cmd_remove)
    m = sub.add_parser("mode", help="set the prompt mode",
                       description="vanilla: derender the ink; text: derender guided by the OCR text; "
                                   "recognize: recognise and derender (the model's text becomes the word's). "
                                   "derender-with-text and recognize-and-derender are the InkSight names "
                                   "of text and recognize.")
    m.add_argument("mode", choices=MODE_CHOICES + ["derender-with-text", "recognize-and-derender"],
                   help="the prompt mode")
    m.set_defaults(func=cmd_mode)
