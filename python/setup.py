# SPDX-License-Identifier: MIT
"""Build the membridge extension against libmembridge, found with pkg-config.

pkg-config is asked for the version and, when an extension is built, for
the flags; `setup.py clean` works before the library exists. PKG_CONFIG names the tool;
PKG_CONFIG_PATH=<build dir> selects the uninstalled build tree.
"""
import os
import shlex
import subprocess
import sys
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def pkgconfig(*args):
    """Flags from `$PKG_CONFIG <args> membridge`; exits with its message if absent."""
    tool = os.environ.get("PKG_CONFIG", "pkg-config")
    try:
        out = subprocess.run([tool, *args, "membridge"], check=True, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
    except FileNotFoundError:
        sys.exit(f"membridge: {tool} not found; install pkg-config or set PKG_CONFIG")
    except subprocess.CalledProcessError as err:
        sys.exit("membridge: libmembridge not found by pkg-config "
                 "(install it, or set PKG_CONFIG_PATH to the directory of membridge.pc):\n"
                 + err.stderr.strip())
    return shlex.split(out)


def package_version():
    """The package's version is the library's one (configure.ac's AC_INIT,
    through membridge.pc), so the two cannot disagree. `setup.py clean`
    alone may run before the library is built: it needs no version."""
    if sys.argv[1:2] == ["clean"]:
        return None
    return pkgconfig("--modversion")[0]


class build_ext_pkgconfig(build_ext):
    """build_ext that takes include/library flags from pkg-config."""

    def finalize_options(self):
        super().finalize_options()
        cflags = pkgconfig("--cflags")
        libs = pkgconfig("--libs")
        for ext in self.extensions:
            ext.include_dirs += [f[2:] for f in cflags if f.startswith("-I")]
            ext.extra_compile_args += [f for f in cflags if not f.startswith("-I")]
            ext.library_dirs += [f[2:] for f in libs if f.startswith("-L")]
            ext.libraries += [f[2:] for f in libs if f.startswith("-l")]
            ext.extra_link_args += [f for f in libs if not f.startswith(("-L", "-l"))]


setup(
    version=package_version(),
    packages=["membridge"],
    package_data={"membridge": ["py.typed", "__init__.pyi"]},
    ext_modules=[Extension(
        "membridge._membridge",
        sorted(os.path.relpath(p, HERE) for p in glob(os.path.join(HERE, "src", "*.c"))),
        depends=glob(os.path.join(HERE, "src", "*.h")),
        extra_compile_args=["-std=gnu11"],
    )],
    cmdclass={"build_ext": build_ext_pkgconfig},
)
