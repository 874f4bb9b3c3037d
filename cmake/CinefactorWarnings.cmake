# Warning flags for the project's own targets; CINEFACTOR_WERROR turns them into errors (the CI preset does).
function(cinefactor_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough>)
  # GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string concatenation at -O3
  # (GCC bug 105329); keep every other warning.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
  endif()
  if(CINEFACTOR_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()

if(CINEFACTOR_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # Instrumented loops cannot be vectorized; clang says so at every `#pragma omp simd`.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_compile_options(-Wno-pass-failed)
  endif()
endif()

# libFuzzer (clang only): every target gets libFuzzer's coverage instrumentation without its main(), so the
# one sanitized build serves both the unit tests and the harnesses of fuzz/ (linked with -fsanitize=fuzzer).
if(CINEFACTOR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CINEFACTOR_FUZZ needs clang (libFuzzer); configure with the debug-asan preset "
                        "or -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  if(NOT CINEFACTOR_SANITIZE)
    message(FATAL_ERROR "CINEFACTOR_FUZZ needs CINEFACTOR_SANITIZE=ON: a harness finds what the sanitizers report")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
