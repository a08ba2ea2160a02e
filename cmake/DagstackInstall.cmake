# DagstackInstall: install helpers for the core and the optional components (CMake package
# files and relocatable pkg-config files).
include_guard(GLOBAL)
include(GNUInstallDirs)

set(DAGSTACK_LOGGER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dagstack_logger)

# dagstack_logger_install_component(NAME TARGET DEPENDENCIES [COMPONENTS])
# Installs TARGET in its own export set and a dagstack_logger-NAME.cmake file that the package
# config loads when NAME is requested: it looks for each of DEPENDENCIES (package names), then
# loads each of the optional COMPONENTS (other components TARGET links), and marks the component
# not found, with a message, when one is missing.
function(dagstack_logger_install_component name target dependencies)
  set(_components "${ARGV3}")
  install(TARGETS ${target} EXPORT dagstack_logger_${name}_targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT dagstack_logger_${name}_targets NAMESPACE dagstack::
          FILE dagstack_logger-${name}-targets.cmake DESTINATION ${DAGSTACK_LOGGER_CMAKE_DIR})
  set(_body "# dagstack_logger component '${name}' (generated).\n")
  foreach(dep IN LISTS dependencies)
    string(APPEND _body
      "if(NOT TARGET ${dep}::${dep} AND NOT ${dep}_FOUND)\n"
      "  find_package(${dep} QUIET)\n"
      "endif()\n"
      "if(NOT ${dep}_FOUND)\n"
      "  set(dagstack_logger_${name}_FOUND FALSE)\n"
      "  set(dagstack_logger_NOT_FOUND_MESSAGE \"component ${name} needs ${dep}, which was not found\")\n"
      "  return()\n"
      "endif()\n")
  endforeach()
  foreach(component IN LISTS _components)
    string(APPEND _body
      "if(NOT TARGET dagstack::logger_${component})\n"
      "  include(\"\${CMAKE_CURRENT_LIST_DIR}/dagstack_logger-${component}.cmake\")\n"
      "endif()\n"
      "if(NOT TARGET dagstack::logger_${component})\n"
      "  set(dagstack_logger_${name}_FOUND FALSE)\n"
      "  set(dagstack_logger_NOT_FOUND_MESSAGE \"component ${name} needs component ${component}\")\n"
      "  return()\n"
      "endif()\n")
  endforeach()
  string(APPEND _body
    "include(\"\${CMAKE_CURRENT_LIST_DIR}/dagstack_logger-${name}-targets.cmake\")\n"
    "set(dagstack_logger_${name}_FOUND TRUE)\n")
  file(WRITE ${PROJECT_BINARY_DIR}/dagstack_logger-${name}.cmake "${_body}")
  install(FILES ${PROJECT_BINARY_DIR}/dagstack_logger-${name}.cmake
          DESTINATION ${DAGSTACK_LOGGER_CMAKE_DIR})
endfunction()

# dagstack_logger_install_pc(NAME DESCRIPTION REQUIRES LIBS)
# Installs NAME.pc whose prefix is found from the file's own location (${pcfiledir}), so the
# installed tree can be moved or installed with any --prefix.
function(dagstack_logger_install_pc name description requires libs)
  file(RELATIVE_PATH _up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" _up "${_up}")
  file(WRITE ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc
    "prefix=\${pcfiledir}/${_up}\n"
    "libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}\n"
    "includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}\n"
    "\n"
    "Name: ${name}\n"
    "Description: dagstack logger: ${description}\n"
    "Version: ${PROJECT_VERSION}\n"
    "Requires: ${requires}\n"
    "Libs: -L\${libdir} ${libs}\n"
    "Cflags: -I\${includedir} -std=c++20\n")
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
