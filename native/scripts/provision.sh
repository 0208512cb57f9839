#!/usr/bin/env bash
# Creates or refreshes the project-local Python venv (MLX, mlx-lm, the demo model), then builds
# liblorabeam with CMake against MLX's CMake config and places it where JavaCPP's Loader finds it.
# Idempotent: an unchanged tree installs nothing and rebuilds nothing.
#
# usage: provision.sh REPO_ROOT VENV_DIR BUILD_DIR CLASSES_DIR
# env:   MLX_ROOT   build against this MLX instead of the venv's (a dir with share/cmake/MLX)
#        PYTHON     interpreter used to create the venv (default: python3)
set -euo pipefail

root=$1 venv=$2 build=$3 classes=$4
native="$root/native"

fail() {
  echo "" >&2
  echo "lorabeam build: $1" >&2
  echo "" >&2
  exit 1
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

check_prerequisites() {
  local py=${PYTHON:-python3} missing=()
  if ! command -v "$py" >/dev/null 2>&1; then
    missing+=("Python >= 3.10 (Debian: apt-get install python3 python3-venv; macOS: brew install python@3.12)")
  else
    local pyv
    pyv=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    version_ge "$pyv" 3.10 || missing+=("Python >= 3.10 (found $pyv at $(command -v "$py"); set PYTHON=/path/to/python3.x)")
    "$py" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
      missing+=("Python's venv module (Debian: apt-get install python3-venv)")
  fi
  if ! command -v cmake >/dev/null 2>&1; then
    missing+=("CMake >= 3.25 (Debian: apt-get install cmake; macOS: brew install cmake)")
  else
    local cv
    cv=$(cmake --version | head -n1 | awk '{print $3}')
    version_ge "$cv" 3.25 || missing+=("CMake >= 3.25 (found $cv)")
  fi
  if ! echo 'int main(){ auto f = [](auto x) requires true { return x; }; return f(0); }' |
    ${CXX:-c++} -std=c++20 -x c++ - -o /dev/null >/dev/null 2>&1; then
    missing+=("a C++20 compiler as c++ or \$CXX (Debian: apt-get install g++; macOS: xcode-select --install)")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    fail "missing prerequisites — install: $(printf '\n  - %s' "${missing[@]}")"
  fi
}

provision_venv() {
  local stamp="$venv/.lorabeam-requirements" wanted
  wanted=$(cat "$native/requirements.txt" "$native/requirements-nodeps.txt")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  echo "lorabeam build: provisioning Python venv at $venv (MLX, mlx-lm, demo model)"
  [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$native/requirements.txt"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$native/requirements-nodeps.txt"
  printf '%s' "$wanted" >"$stamp"
}

javacpp_platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=macosx ;;
    *) fail "unsupported OS $(uname -s): lorabeam builds on Linux and macOS" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x86_64 ;;
    arm64 | aarch64) arch=arm64 ;;
    *) fail "unsupported CPU $(uname -m)" ;;
  esac
  echo "$os-$arch"
}

build_native() {
  local mlx_root=${MLX_ROOT:-}
  if [ -z "$mlx_root" ]; then
    mlx_root=$("$venv/bin/python" -m mlx --cmake-dir)
  fi
  [ -f "$mlx_root/share/cmake/MLX/MLXConfig.cmake" ] ||
    fail "MLX_ROOT=$mlx_root has no share/cmake/MLX/MLXConfig.cmake; point MLX_ROOT at an MLX install (python -m mlx --cmake-dir)"
  if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q "MLX_DIR:PATH=$mlx_root/share/cmake/MLX" "$build/CMakeCache.txt"; then
    cmake -S "$native" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMLX_DIR="$mlx_root/share/cmake/MLX" >"$build.configure.log" 2>&1 ||
      { cat "$build.configure.log" >&2; fail "CMake could not configure native/ (log above)"; }
  fi
  cmake --build "$build" -j "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" >"$build.build.log" 2>&1 ||
    { cat "$build.build.log" >&2; fail "C++ build of native/ failed (log above)"; }
  local dest="$classes/dev/lorabeam/engine/bridge/$(javacpp_platform)" lib
  mkdir -p "$dest"
  for lib in "$build"/liblorabeam.so "$build"/liblorabeam.dylib; do
    [ -f "$lib" ] || continue
    cmp -s "$lib" "$dest/$(basename "$lib")" || cp "$lib" "$dest/"
  done
  # JavaCPP links the JNI library against this copy; the Loader later finds both side by side.
  ln -sfn "$dest" "$build/platform-lib"
}

mkdir -p "$(dirname "$build")"
check_prerequisites
provision_venv
build_native
