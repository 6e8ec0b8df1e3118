"""`inknotes replay`: see the drawing order the engine chose, InkSight-style."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .argtypes import at_least


def register(sub: argparse._SubParsersAction) -> None:
    from .cli import add_engine_arguments
    p = sub.add_parser("replay", help="show stroke order as a coloured PNG and an animation",
                       description="Convert IMAGE (or read --inkml FILE) and draw its strokes coloured by "
                                   "drawing order (rainbow across strokes, darker to lighter within a "
                                   "stroke) over the dimmed photo: OUT.png plus an animated OUT.gif.")
    p.add_argument("image", metavar="IMAGE", help="the photo or scan (its strokes are converted, or read "
                   "from --inkml)")
    p.add_argument("--inkml", metavar="FILE", help="draw these strokes instead of converting IMAGE")
    p.add_argument("-o", "--output", metavar="OUT", help="output name without extension, or a "
                   "folder to write <image stem>.replay.png (and .gif) into (default: the current "
                   "folder)")
    p.add_argument("--animation", choices=["gif", "apng", "none"], default="gif",
                   help="animated format (default gif)")
    p.add_argument("--frames", type=at_least(1), default=60, help="animation frames, at most (default 60; "
                   "fewer when the page has fewer strokes)")
    p.add_argument("--page", type=at_least(1), default=1, metavar="N",
                   help="which page of a multi-page TIFF (default 1); its output is named -p<N>")
    add_engine_arguments(p)
    p.set_defaults(func=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    from . import imaging
    from .cli import engine_options, report, resolve_engine_name
    from .errors import InknotesError
    from .replay import render_animation, render_png
    try:
        unreadable: list[InknotesError] = []  # another page being damaged does not matter here
        pages = imaging.load_pages(args.image, unreadable)
        count = pages[0].page_count
        if args.page > count:
            plural = "s" if count > 1 else ""
            report(args.image, f"There is no page {args.page}: the file has {count} page{plural}.")
            return 1
        page = next((p for p in pages if p.page_index == args.page - 1), None)
        if page is None:
            report(args.image, next(e.message for e in unreadable if e.page == args.page))
            return 1
        if count > 1 and args.page == 1 and not args.inkml:
            print(f"inknotes: {args.image} has {count} pages; replaying page 1 (--page N for another)",
                  file=sys.stderr)
        stem = f"{Path(args.image).stem}-p{args.page}" if count > 1 else Path(args.image).stem
        base = _output_base(args.output, stem)  # a bad folder fails before the work
        h, w = page.rgb.shape[:2]
        if args.inkml:
            from .formats import read_inkml
            strokes = read_inkml(Path(args.inkml)).strokes
        else:
            from .derender import get_engine
            from .pipeline import convert_page
            engine = get_engine(resolve_engine_name(args), **engine_options(args))
            strokes = convert_page(page, engine).strokes
        png = render_png(strokes, (w, h), page.rgb, base.parent / f"{base.name}.png")
        print(png)
        if args.animation != "none":
            ext = ".gif" if args.animation == "gif" else ".apng"
            anim = render_animation(strokes, (w, h), page.rgb, base.parent / f"{base.name}{ext}",
                                    frames=max(2, args.frames))
            print(anim)
    except InknotesError as e:
        report(e.path or args.image, e.message)
        return 1
    return 0


def _output_base(output: str | None, stem: str) -> Path:
    """OUT without its extension: a folder given (existing, or named with a trailing slash, then
    made) holds <image stem>.replay, as ``convert -o`` does; any other name is used as it is."""
    name = f"{stem}.replay"
    if not output:
        return Path(name)
    if output.endswith(("/", "\\")) or Path(output).is_dir():
        from .fileio import check_writable_dir
        return check_writable_dir(output) / name
    return Path(output)
