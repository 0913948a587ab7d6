# Shared by wasm/build.sh and wasm/build-field.sh (sourced, not run): the tools, the temporary output directory,
# compiling one C translation unit into a module, and writing or checking the committed outputs.
# The sourcing script sets SCRIPT (its name for messages), SOURCE (the .c file), MEMORY_BYTES, STACK_BYTES and
# CFLAGS_EXTRA (e.g. -msimd128) first, and calls parse_args "$@".

parse_args() {
  check=0
  case "${1:-}" in
    --check) check=1 ;;
    "") ;;
    *) echo "usage: $SCRIPT [--check]" >&2; exit 2 ;;
  esac
}

find_tool() {
  local t
  for t in "$@"; do
    if command -v "$t" >/dev/null 2>&1; then command -v "$t"; return 0; fi
  done
  echo "$SCRIPT: none of $* found; install them with: apt-get install -y clang lld" >&2
  return 1
}
# The committed modules were built with clang/lld 14 (Debian bookworm): prefer those so that --check can pass.
CLANG=$(find_tool clang-14 clang)
WASM_LD=$(find_tool wasm-ld-14 wasm-ld)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# build_module NAME [CLANG FLAGS...]: compiles and links $SOURCE into $out/NAME.wasm.
# -ffreestanding/-nostdlib: no libc; -mbulk-memory: memset/memcpy become memory.fill/memory.copy instead of
# calls (a call would be an undefined symbol and fail the link). No debug info, no names: the bytes depend
# only on the sources, the flags and the compiler version. Linear memory is fixed (initial = maximum), so JS
# views of it never detach.
build_module() {
  local name=$1
  shift
  # shellcheck disable=SC2086 # CFLAGS_EXTRA is a list of flags
  "$CLANG" --target=wasm32 -O3 $CFLAGS_EXTRA -mbulk-memory -ffreestanding -nostdlib -fvisibility=hidden \
    -Wall -Wextra "$@" -c "$SOURCE" -o "$out/$name.o"
  "$WASM_LD" --no-entry --strip-all --stack-first -z "stack-size=$STACK_BYTES" \
    --initial-memory="$MEMORY_BYTES" --max-memory="$MEMORY_BYTES" \
    "$out/$name.o" -o "$out/$name.wasm"
}

# check_outputs "BUILT COMMITTED"...: 0 when every committed file equals its fresh build, else 1 (and says which).
check_outputs() {
  local status=0 pair built committed
  for pair in "$@"; do
    read -r built committed <<<"$pair"
    if ! cmp -s "$out/$built" "$committed"; then
      echo "$committed differs from a fresh build ($("$CLANG" --version | head -1)): rebuild with $SCRIPT" >&2
      status=1
    fi
  done
  return "$status"
}

# write_outputs "BUILT COMMITTED"...: copies each fresh build over its committed file.
write_outputs() {
  local pair built committed
  for pair in "$@"; do
    read -r built committed <<<"$pair"
    mkdir -p "$(dirname "$committed")"
    cp "$out/$built" "$committed"
    echo "wrote $committed"
  done
}
