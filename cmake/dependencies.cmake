# Locates every third-party dependency and gives each an imported target.
# See ../shared/TOOLCHAIN.md for why some of these are found by hand.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CapnProto CONFIG REQUIRED)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto SSL)  # security/: certificates, tokens
find_package(RocksDB CONFIG REQUIRED)
find_package(doctest REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
pkg_check_modules(LIBFABRIC REQUIRED IMPORTED_TARGET libfabric)

# CAF 0.17 ships neither a CMake config nor a pkg-config file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR})

# CUDA and NCCL are optional: used when the toolkit is present, never required.
find_package(CUDAToolkit QUIET)
set(GANTRY_HAVE_CUDA OFF)
if(CUDAToolkit_FOUND)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(GANTRY_HAVE_CUDA ON)
    add_library(nccl::nccl UNKNOWN IMPORTED)
    set_target_properties(nccl::nccl PROPERTIES
      IMPORTED_LOCATION ${NCCL_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${NCCL_INCLUDE_DIR})
  endif()
endif()
message(STATUS "gantry: CUDA + NCCL support: ${GANTRY_HAVE_CUDA}")
