# Embeds repository files into the library as byte arrays, so the binary needs no files at run time
# and works from any directory: the web app's HTML/CSS/JS and the dataset registry.
#
#   cinefactor_embed(<target> <table> <dir> <file>...)   files given relative to <dir>
#   cinefactor_embed_directory(<target> <table> <dir>)   every file under <dir>
#
# Each call defines, inside the target, a table `cinefactor::detail::k<table>` of EmbeddedEntry
# (src/core/embedded.hpp) sorted by path, and `k<table>Count`. The generated .cpp is rebuilt when an
# embedded file changes; with the directory form, files added or removed are picked up at the next
# configure (the glob is CONFIGURE_DEPENDS, so a build re-runs the configure step by itself).

set(CINEFACTOR_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake)

function(cinefactor_embed target table dir)
  set(files ${ARGN})
  list(SORT files)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/generated/embedded_${table}.cpp)
  set(absolute_files "")
  foreach(f ${files})
    list(APPEND absolute_files ${dir}/${f})
  endforeach()
  # The file list goes through a file, not the command line: it may be long and hold odd characters.
  set(list_file ${CMAKE_CURRENT_BINARY_DIR}/generated/embedded_${table}.list)
  string(REPLACE ";" "\n" list_text "${files}")
  file(CONFIGURE OUTPUT ${list_file} CONTENT "${list_text}\n")
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DEMBED_DIR=${dir} -DEMBED_LIST=${list_file} -DEMBED_OUTPUT=${output}
            -DEMBED_TABLE=${table} -P ${CINEFACTOR_EMBED_SCRIPT}
    DEPENDS ${absolute_files} ${list_file} ${CINEFACTOR_EMBED_SCRIPT}
    COMMENT "Embedding ${table} from ${dir}"
    VERBATIM)
  target_sources(${target} PRIVATE ${output})
endfunction()

function(cinefactor_embed_directory target table dir)
  file(GLOB_RECURSE files CONFIGURE_DEPENDS LIST_DIRECTORIES false RELATIVE ${dir} ${dir}/*)
  cinefactor_embed(${target} ${table} ${dir} ${files})
endfunction()
