"""Builds the C++ label_image (``cpp/label_image``) with this machine's compiler and the libtorch in the torch wheel.

    python -m slim.export.build_cpp_label_image --output_dir=/tmp/label_image_build
    /tmp/label_image_build/label_image --image=flower.jpg --graph=/tmp/frozen.onnx --labels=labels.txt

No download and no CMake needed: the headers and libraries come from the installed torch (``torch/include``,
``torch/lib``, linked with an rpath, so the program runs with this environment's torch) and from the system (libjpeg,
libpng). The program runs AOTInductor packages written by :mod:`slim.export.aoti`. ``--cmake`` builds with
``cpp/label_image/CMakeLists.txt`` instead, as a user outside Python would. A rebuild is skipped when the sources and
the command are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["SOURCE_DIR", "build_requirements_missing", "compile_command", "build_cpp_label_image", "main"]

logger = logging.getLogger("slim")

SOURCE_DIR = Path(__file__).resolve().parents[2] / "cpp" / "label_image"
SOURCES = ("main.cc", "image.cc")
HEADERS = ("image.h",)
PROGRAM = "label_image"
SYSTEM_LIBRARIES = ("-ljpeg", "-lpng", "-lz")


def _compiler(cxx: str | None) -> str | None:
    return shutil.which(cxx or os.environ.get("CXX") or "g++") or (None if cxx else shutil.which("c++"))


def _torch_dirs() -> tuple[Path, Path]:
    import torch

    root = Path(torch.__file__).resolve().parent
    return root / "include", root / "lib"


def _cxx11_abi() -> int:
    import torch

    return int(torch._C._GLIBCXX_USE_CXX11_ABI)


def build_requirements_missing(cxx: str | None = None) -> str | None:
    """Why the program cannot be built here (no compiler, no libjpeg/libpng headers and libraries, no libtorch
    headers in the torch wheel), or None when it can. Checked by compiling and linking a two-line program."""
    compiler = _compiler(cxx)
    if compiler is None:
        wanted = cxx or os.environ.get("CXX")
        return f"no C++ compiler {wanted!r} on PATH" if wanted else "no C++ compiler (g++ or c++) on PATH"
    include, lib = _torch_dirs()
    loader = include / "torch" / "csrc" / "inductor" / "aoti_package" / "model_package_loader.h"
    if not loader.exists() or not (lib / "libtorch_cpu.so").exists():
        return f"the installed torch ships no libtorch headers/libraries ({loader.parent}, {lib})"
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.cc"
        probe.write_text(
            "#include <cstdio>\n#include <jpeglib.h>\n#include <png.h>\n"
            "int main() { jpeg_decompress_struct c; (void)c; return png_access_version_number() > 0 ? 0 : 1; }\n"
        )
        result = subprocess.run(
            [compiler, str(probe), "-o", str(Path(tmp) / "probe"), *SYSTEM_LIBRARIES],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            return (
                "libjpeg/libpng headers or libraries missing (e.g. apt-get install libjpeg-dev libpng-dev): "
                + (result.stderr.strip().splitlines() or ["?"])[-1]
            )
    return None


def compile_command(output: str | os.PathLike, cxx: str | None = None) -> list[str]:
    """The one compiler call that builds the program: C++20 (libtorch's headers need it), torch's C++ ABI, the
    torch wheel's headers as system headers and its libraries with an rpath, libjpeg and libpng."""
    compiler = _compiler(cxx)
    if compiler is None:
        raise RuntimeError("No C++ compiler found (set CXX or pass --cxx).")
    include, lib = _torch_dirs()
    return [
        compiler,
        "-std=c++20",
        "-O2",
        f"-D_GLIBCXX_USE_CXX11_ABI={_cxx11_abi()}",
        "-isystem",
        str(include),
        *[str(SOURCE_DIR / source) for source in SOURCES],
        "-o",
        str(output),
        f"-L{lib}",
        f"-Wl,-rpath,{lib}",
        "-ltorch_cpu",
        "-lc10",
        *SYSTEM_LIBRARIES,
    ]


def _fingerprint(command: Sequence[str]) -> str:
    digest = hashlib.sha256("\0".join(command).encode())
    for name in SOURCES + HEADERS:
        digest.update((SOURCE_DIR / name).read_bytes())
    return digest.hexdigest()


def _cmake_build(output_dir: Path) -> Path:
    import torch.utils

    cmake = shutil.which("cmake")
    if cmake is None:
        raise RuntimeError("cmake is not on PATH (build without --cmake).")
    build = output_dir / "cmake-build"
    subprocess.run(
        [cmake, "-S", str(SOURCE_DIR), "-B", str(build), f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}"],
        check=True,
    )
    subprocess.run([cmake, "--build", str(build), "--parallel", "2"], check=True)
    target = output_dir / PROGRAM
    shutil.copy2(build / PROGRAM, target)
    return target


def build_cpp_label_image(
    output_dir: str | os.PathLike, cxx: str | None = None, use_cmake: bool = False, force: bool = False
) -> Path:
    """Builds ``<output_dir>/label_image`` and returns its path (unchanged sources and command: no rebuild).

    Raises:
      RuntimeError: the build requirements are missing (says which), or the compiler failed (with its errors).
    """
    if not (SOURCE_DIR / "main.cc").exists():
        raise RuntimeError(f"The C++ sources are not at {SOURCE_DIR} (they ship with the repository, not the wheel).")
    missing = build_requirements_missing(cxx)
    if missing:
        raise RuntimeError(f"Cannot build the C++ label_image: {missing}.")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if use_cmake:
        return _cmake_build(output_dir)
    target = output_dir / PROGRAM
    command = compile_command(target, cxx)
    stamp = output_dir / (PROGRAM + ".stamp")
    fingerprint = _fingerprint(command)
    if not force and target.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        logger.info("%s is up to date", target)
        return target
    logger.info("%s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"Building the C++ label_image failed:\n{result.stderr[-6000:]}")
    stamp.write_text(fingerprint)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Builds the C++ label_image against the installed torch.")
    parser.add_argument("--output_dir", default=str(SOURCE_DIR / "build"), help="default: cpp/label_image/build")
    parser.add_argument("--cxx", default=None, help="the C++ compiler (default $CXX, else g++)")
    parser.add_argument("--cmake", action="store_true", help="build with CMakeLists.txt instead of one compiler call")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = build_cpp_label_image(args.output_dir, cxx=args.cxx, use_cmake=args.cmake, force=args.force)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
