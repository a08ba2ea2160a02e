# DagstackStacktrace: symbolised stack traces for exception records (src/stacktrace.cpp).
#
# Prefers GCC's libbacktrace (libbacktrace.a + backtrace.h, shipped by libgcc-<N>-dev, which
# both g++ and clang++ depend on in Debian/Ubuntu): it reads the DWARF line tables and the ELF
# symbol table, so frames get function names (static functions included, no -rdynamic needed)
# and file:line when the code has debug info. Without it the library falls back to glibc
# backtrace() + dladdr(), which names only exported functions.
#
# backtrace.h lives in GCC's private include folder, which must not be put on Clang's include
# path (its stddef.h/intrinsics headers would shadow Clang's), so the header alone is copied
# into the build tree.
include_guard(GLOBAL)

option(DAGSTACK_LOGGER_WITH_LIBBACKTRACE "Use GCC's libbacktrace for file:line stack traces" ON)

if(DAGSTACK_LOGGER_WITH_LIBBACKTRACE)
  set(_dagstack_gcc_roots)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    string(REGEX MATCH "^[0-9]+" _dagstack_gcc_major "${CMAKE_CXX_COMPILER_VERSION}")
    file(GLOB _dagstack_gcc_roots LIST_DIRECTORIES true "/usr/lib/gcc/*/${_dagstack_gcc_major}")
  endif()
  # Otherwise (Clang), any installed GCC; the newest first.
  file(GLOB _dagstack_any_gcc LIST_DIRECTORIES true "/usr/lib/gcc/${CMAKE_LIBRARY_ARCHITECTURE}/*"
       "/usr/lib/gcc/*/*")
  list(SORT _dagstack_any_gcc COMPARE NATURAL ORDER DESCENDING)
  list(APPEND _dagstack_gcc_roots ${_dagstack_any_gcc})

  find_library(DAGSTACK_LIBBACKTRACE_LIBRARY NAMES libbacktrace.a backtrace
               HINTS ${_dagstack_gcc_roots} NO_DEFAULT_PATH)
  if(DAGSTACK_LIBBACKTRACE_LIBRARY)
    get_filename_component(_dagstack_bt_dir "${DAGSTACK_LIBBACKTRACE_LIBRARY}" DIRECTORY)
    find_file(DAGSTACK_LIBBACKTRACE_HEADER backtrace.h HINTS "${_dagstack_bt_dir}/include"
              NO_DEFAULT_PATH)
  endif()
  if(DAGSTACK_LIBBACKTRACE_LIBRARY AND DAGSTACK_LIBBACKTRACE_HEADER)
    set(_dagstack_bt_inc "${PROJECT_BINARY_DIR}/dagstack_private/libbacktrace")
    configure_file("${DAGSTACK_LIBBACKTRACE_HEADER}" "${_dagstack_bt_inc}/backtrace.h" COPYONLY)
    target_include_directories(dagstack_logger SYSTEM PRIVATE "${_dagstack_bt_inc}")
    target_compile_definitions(dagstack_logger PRIVATE DAGSTACK_LOGGER_HAVE_LIBBACKTRACE=1)
    target_link_libraries(dagstack_logger PRIVATE "${DAGSTACK_LIBBACKTRACE_LIBRARY}")
    message(STATUS "dagstack_logger: stack traces via libbacktrace (${DAGSTACK_LIBBACKTRACE_LIBRARY})")
  else()
    message(STATUS "dagstack_logger: libbacktrace not found; stack traces via backtrace() + dladdr()")
  endif()
endif()
