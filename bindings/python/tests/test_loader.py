"""Tests of where seatbook/_native.py looks for the library (the order is
documented in its module doc): an explicit SEATBOOK_LIB, then the copy
bundled in the package, then the system loader, then the checkout's
target/ directories."""

import importlib.machinery
import os
import tempfile
import unittest

from seatbook import _native


class LibraryLookup(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.pkg = os.path.join(self.dir.name, "bindings", "python", "seatbook")
        os.makedirs(self.pkg)

    def tearDown(self):
        self.dir.cleanup()

    def bundle(self):
        path = os.path.join(self.pkg, _native.BUNDLED_NAME + importlib.machinery.EXTENSION_SUFFIXES[0])
        with open(path, "wb"):
            pass
        return path

    def test_the_bundled_library_comes_first_without_an_override(self):
        bundled = self.bundle()
        found = list(_native._candidates({}, self.pkg))
        self.assertEqual(found[0], bundled)
        # the development fallbacks stay, after it
        root = os.path.realpath(self.dir.name)
        self.assertIn(os.path.join(root, "target", "release", "libseatbook.so"), map(os.path.realpath, found))

    def test_an_explicit_seatbook_lib_overrides_the_bundled_copy(self):
        self.bundle()
        found = list(_native._candidates({"SEATBOOK_LIB": "/x/libseatbook.so"}, self.pkg))
        self.assertEqual(found, ["/x/libseatbook.so"])

    def test_without_a_bundled_copy_the_source_tree_is_tried(self):
        found = [os.path.realpath(p) for p in _native._candidates({}, self.pkg) if os.sep in p]
        root = os.path.realpath(self.dir.name)
        self.assertEqual(
            found[-2:],
            [os.path.join(root, "target", p, "libseatbook.so") for p in ("release", "debug")],
        )
        self.assertFalse(any(os.path.basename(p).startswith(_native.BUNDLED_NAME) for p in found))

    def test_lib_path_names_the_loaded_file(self):
        self.assertTrue(_native.LIB_PATH)
        if os.environ.get("SEATBOOK_LIB"):
            self.assertEqual(_native.LIB_PATH, os.environ["SEATBOOK_LIB"])


if __name__ == "__main__":
    unittest.main()
