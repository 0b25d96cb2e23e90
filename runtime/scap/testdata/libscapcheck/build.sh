#!/bin/sh
# Builds check, a reader of .scap files on libscap's own savefile engine
# (what Falco's replay engine uses), from a falcosecurity/libs checkout:
#   build.sh /path/to/libs-git-dir-or-checkout OUTPUT
# It needs cmake, gcc, g++, zlib1g-dev, uthash-dev and libelf-dev
# (Debian). TestLibscapReadsOurCaptures runs it when FALCOC_LIBSCAP_CHECK
# names the binary.
set -eu
libs=$1
out=$(realpath -m "$2")
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d "$libs/.git" ] || git -C "$libs" rev-parse --is-bare-repository >/dev/null 2>&1; then
	git -C "$libs" archive HEAD | tar -x -C "$work"
else
	cp -r "$libs"/. "$work"
fi
cd "$work"
# libscap alone: libsinsp and the tests need dependencies this check does not.
sed -i 's/^include(libsinsp)/#include(libsinsp)/; s/^if(CREATE_TEST_TARGETS)/if(FALSE)/' CMakeLists.txt
mkdir build && cd build
cmake .. -DUSE_BUNDLED_DEPS=OFF -DMINIMAL_BUILD=ON -DCREATE_TEST_TARGETS=OFF -DBUILD_DRIVER=OFF \
	-DBUILD_BPF=OFF -DBUILD_LIBSCAP_MODERN_BPF=OFF -DBUILD_LIBSCAP_GVISOR=OFF \
	-DENABLE_ENGINE_SOURCE_PLUGIN=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
make -j"$(nproc)" scap >/dev/null
B=$work/build/libscap
mkdir -p inc/libscap && cp "$B"/*.h inc/libscap/
gcc -O1 -o "$out" "$here/check.c" -Iinc -I"$work/userspace" -I"$work/userspace/libscap" -I"$work" -I"$work/driver" \
	-Wl,--start-group "$B"/libscap.a $(find "$B" -name 'libscap_*.a' -o -name 'libdriver_*.a' | tr '\n' ' ') -Wl,--end-group \
	-lz -lstdc++ -lpthread -lelf
echo "built $out"
