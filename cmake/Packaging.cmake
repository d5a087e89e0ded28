# SPDX-License-Identifier: BSD-3-Clause
# CPack: three Debian packages from the install() components.
#   pmem2async        runtime: libpmem2.so.1, libminiasync.so.0 (and, with
#                     libfabric, libpmem2rep.so.0)
#   pmem2async-dev    headers, .so links, static archives, pkg-config,
#                     CMake package configs, man pages (3, 7)
#   pmem2async-tools  pmem2cp, pmem2bench and their man pages (1)
# Build them with an install prefix of /usr (the .pc files record it):
#   cmake -S . -B build-pkg -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build-pkg
#   (cd build-pkg && cpack -G DEB)
# They replace Debian's libpmem2 packages (the same soname and headers), so
# they declare Conflicts/Replaces with them.
set(CPACK_PACKAGE_NAME pmem2async)
set(CPACK_PACKAGE_VENDOR "pmem2async maintainers")
set(CPACK_PACKAGE_CONTACT "pmem2async maintainers <pmem2async@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"libpmem2 and libminiasync: persistent memory mappings and durable async copies")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")

set(_ver "${PROJECT_VERSION}")
set(_deps "libc6 (>= 2.34)")
if(PMEM2_HAVE_URING)
	string(APPEND _deps ", liburing2")
endif()
if(PMEM2_HAVE_NDCTL)
	string(APPEND _deps ", libndctl6, libdaxctl1")
endif()
if(PMEM2_HAVE_FABRIC)	# libpmem2rep.so.0 (runtime), pmem2-replicad (tools)
	string(APPEND _deps ", libfabric1, libssl3")
endif()

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME pmem2async)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "${_deps}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONFLICTS "libpmem2, libminiasync0")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_REPLACES "libpmem2, libminiasync0")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_PROVIDES
	"libpmem2 (= ${PMEM2_VERSION}), libminiasync0 (= ${MINIASYNC_VERSION})")
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "runtime libraries:
 libpmem2.so.1 and libminiasync.so.0: source compatible with PMDK's libpmem2
 and miniasync 0.2, with pmem2_memcpy_async durable on completion.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME pmem2async-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "pmem2async (= ${_ver})")
set(CPACK_DEBIAN_DEV_PACKAGE_CONFLICTS "libpmem2-dev, libminiasync-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_REPLACES "libpmem2-dev, libminiasync-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION "development files:
 Headers, static libraries, pkg-config and CMake package files, and the man
 pages of libpmem2 and libminiasync.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME pmem2async-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "pmem2async (= ${_ver}), libc6 (>= 2.34)")
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "command-line tools:
 pmem2cp copies files durably through a pmem2 mapping with asynchronous
 copies in flight; pmem2bench runs the libraries' benchmarks.")

include(CPack)
