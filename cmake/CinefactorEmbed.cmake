# Embeds every file under a directory (the web app's HTML/CSS/JS) into a target as byte arrays, so
# the server binary carries its assets and needs no files at run time. The generated .cpp is rebuilt
# when any embedded file changes; files added or removed are picked up at the next configure (the
# glob is CONFIGURE_DEPENDS, so a build re-runs the configure step by itself).
#
#   cinefactor_embed_directory(<target> <dir>)
#
# defines, inside the target, the table read by src/assets.cpp (cinefactor::detail::kEmbeddedAssets).

set(CINEFACTOR_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake)

function(cinefactor_embed_directory target dir)
  file(GLOB_RECURSE files CONFIGURE_DEPENDS LIST_DIRECTORIES false RELATIVE ${dir} ${dir}/*)
  list(SORT files)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/generated/embedded_assets.cpp)
  set(absolute_files "")
  foreach(f ${files})
    list(APPEND absolute_files ${dir}/${f})
  endforeach()
  # The file list goes through a file, not the command line: it may be long and hold odd characters.
  set(list_file ${CMAKE_CURRENT_BINARY_DIR}/generated/embedded_assets.list)
  string(REPLACE ";" "\n" list_text "${files}")
  file(CONFIGURE OUTPUT ${list_file} CONTENT "${list_text}\n")
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DEMBED_DIR=${dir} -DEMBED_LIST=${list_file} -DEMBED_OUTPUT=${output}
            -P ${CINEFACTOR_EMBED_SCRIPT}
    DEPENDS ${absolute_files} ${list_file} ${CINEFACTOR_EMBED_SCRIPT}
    COMMENT "Embedding ${dir} (${CMAKE_CURRENT_BINARY_DIR}/generated/embedded_assets.cpp)"
    VERBATIM)
  target_sources(${target} PRIVATE ${output})
endfunction()
