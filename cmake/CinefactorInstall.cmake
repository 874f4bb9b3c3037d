# `cmake --install`: the CLI, the public headers (include/cinefactor), the layer libraries and a CMake
# package, so a C++ project can
#   find_package(cinefactor REQUIRED)
#   target_link_libraries(app PRIVATE cinefactor::cinefactor)
# (tests/install_consumer builds such a project against an installed tree.)
include(CMakePackageConfigHelpers)

set(CINEFACTOR_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/cinefactor)
get_property(_cf_layers GLOBAL PROPERTY CINEFACTOR_LAYERS)

install(TARGETS cinefactor RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${_cf_layers} cinefactor_library
        EXPORT cinefactorTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/cinefactor DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT cinefactorTargets NAMESPACE cinefactor:: DESTINATION ${CINEFACTOR_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/cinefactorConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cinefactorConfig.cmake
                              INSTALL_DESTINATION ${CINEFACTOR_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cinefactorConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cinefactorConfig.cmake ${PROJECT_BINARY_DIR}/cinefactorConfigVersion.cmake
        DESTINATION ${CINEFACTOR_INSTALL_CMAKEDIR})
