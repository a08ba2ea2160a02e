# dagstack_set_warnings(target): the project's warning set; -Werror when DAGSTACK_LOGGER_WERROR.
function(dagstack_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers)
  if(DAGSTACK_LOGGER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
