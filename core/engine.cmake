# Sources of the engine component (owned by that component): skill host, backend, dialogue, loop.
target_sources(teller_core PRIVATE
    src/engine/batch_loop.cpp
    src/engine/demo_backend.cpp
    src/engine/dialogue.cpp
    src/engine/handoff.cpp
    src/engine/handoff_relay.cpp
    src/engine/engine.cpp
    src/engine/http_backend.cpp
    src/engine/notifications.cpp
    src/engine/route_memory.cpp
    src/engine/skill_host.cpp
    src/engine/system_intents.cpp)
# Sources of the replay component (teller record / teller replay).
target_sources(teller_core PRIVATE
    src/kafka/topic_reader.cpp
    src/replay/recording.cpp
    src/replay/replay.cpp)
# Sources of the flows component: declarative YAML flows run as the built-in "flows" skill.
target_sources(teller_core PRIVATE
    src/flows/flow_loader.cpp
    src/flows/flow_skill.cpp)
target_link_libraries(teller_core PRIVATE OpenSSL::SSL)  # https for the HTTP bank backend
