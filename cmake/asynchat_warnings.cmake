# asynchat: compiler warnings for the project's own targets
# SPDX-License-Identifier: BSL-1.0

# asynchat_set_warnings(<target>) turns on the warnings we hold our code to. They are PRIVATE so that
# consumers of asynchat::asynchat never inherit them.
function(asynchat_set_warnings target)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
        if(ASYNCHAT_WERROR)
            target_compile_options(${target} PRIVATE -Werror)
        endif()
    endif()
endfunction()
