# Warnings for our own targets only (PRIVATE, so users of a target never inherit them).
function(nextier_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wsuggest-override)
  if(NEXTIER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # GCC 12 at -O3 reports false -Wrestrict positives inside std::string (GCC PR 105329).
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()

# nextier_library(NAME folder SOURCES ... DEPS ...): one library per top-level folder with its
# public headers under <folder>/include and an ALIAS nextier::<folder>.
function(nextier_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(nextier_${name} ${ARG_SOURCES})
  add_library(nextier::${name} ALIAS nextier_${name})
  target_include_directories(nextier_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(nextier_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  nextier_warnings(nextier_${name})
endfunction()

# nextier_allocator(TARGET): links jemalloc into an executable that runs the engine (not under
# the sanitizers, which bring their own allocator). Every event is built by a producer thread and
# freed by the log's writer; glibc's malloc serialises such cross-thread frees on the producer's
# arena lock, jemalloc returns them through per-thread caches.
function(nextier_allocator target)
  if(NEXTIER_SANITIZE OR NEXTIER_FUZZ OR NOT NEXTIER_JEMALLOC)
    return()
  endif()
  find_library(NEXTIER_JEMALLOC_LIBRARY NAMES jemalloc)
  if(NOT NEXTIER_JEMALLOC_LIBRARY)
    message(FATAL_ERROR "jemalloc not found (Debian: apt-get install libjemalloc-dev; or "
                        "-DNEXTIER_JEMALLOC=OFF)")
  endif()
  target_link_libraries(${target} PRIVATE ${NEXTIER_JEMALLOC_LIBRARY})
endfunction()
