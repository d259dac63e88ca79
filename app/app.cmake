# The teller executable. It lands at the top of the build tree, beside skills/.
add_executable(teller src/main.cpp src/cli.cpp src/bot_setup.cpp src/commands.cpp src/replay_commands.cpp)
# teller train, eval and validate-data.
target_sources(teller PRIVATE src/nlu_commands.cpp)
# teller train-faq and the engine's templates, knowledge base and FAQ model.
target_sources(teller PRIVATE src/faq_commands.cpp)
target_link_libraries(teller PRIVATE teller::nlg)
# Provider channels and the kafka-dev relay.
target_sources(teller PRIVATE src/channel_setup.cpp src/tcp_relay.cpp)
target_link_libraries(teller PRIVATE teller_warnings teller::core teller::nlu teller::channels)
set_target_properties(teller PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
install(TARGETS teller RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/demo-bank.json DESTINATION ${CMAKE_INSTALL_DATADIR}/teller)
# `teller run` loads the shipped skills from build/skills by default.
add_dependencies(teller teller_skill_cards)
