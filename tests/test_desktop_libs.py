"""The Linux window on a desktop that lacks an X11 library Qt's xcb plugin needs: one sentence naming the package,
before Qt loads. (A unit test with a fake library loader; not run in a minimal debootstrap root.)"""

from __future__ import annotations

from speckle_uploader.desktop_libs import XCB_LIBRARIES, needs_xcb, problem

X11 = {"DISPLAY": ":0"}


def test_a_missing_cursor_library_is_named_with_its_package() -> None:
    sentence = problem(lambda soname: soname != "libxcb-cursor.so.0", X11, "linux")
    assert "`sudo apt install libxcb-cursor0`" in sentence and "xcb-util-cursor" in sentence
    assert sentence.count(".") == 1 and sentence.endswith("again.")  # one sentence


def test_nothing_to_say_when_everything_loads_or_no_x11() -> None:
    assert problem(lambda soname: True, X11, "linux") == ""
    assert problem(lambda soname: False, {}, "linux") == ""  # no display: the CLI/offscreen paths
    assert problem(lambda soname: False, {**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux") == ""
    assert problem(lambda soname: False, X11, "win32") == ""
    assert needs_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")


def test_several_missing_are_named_once_each() -> None:
    sentence = problem(lambda soname: False, X11, "linux")
    for debian, _fedora in XCB_LIBRARIES.values():
        assert sentence.count(debian + " ") + sentence.count(debian + "`") == 1
    assert sentence.count("libxcb ") <= 1

