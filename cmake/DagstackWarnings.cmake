# dagstack_set_warnings(target): the project's warning set; -Werror when DAGSTACK_LOGGER_WERROR.
function(dagstack_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers)
  if(DAGSTACK_LOGGER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    # GCC 12 at -O3 reports false -Wrestrict/-Wstringop-overflow in libstdc++'s own std::string
    # code (GCC bugs 105329, 105651): kept as warnings, not errors.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-error=restrict -Wno-error=stringop-overflow)
    endif()
  endif()
endfunction()
