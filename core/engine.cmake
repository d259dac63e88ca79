# Sources of the engine component (owned by that component): skill host, backend, dialogue, loop.
target_sources(teller_core PRIVATE
    src/engine/demo_backend.cpp
    src/engine/dialogue.cpp
    src/engine/engine.cpp
    src/engine/skill_host.cpp
    src/engine/system_intents.cpp)
# Sources of the replay component (teller record / teller replay).
target_sources(teller_core PRIVATE
    src/kafka/topic_reader.cpp
    src/replay/recording.cpp
    src/replay/replay.cpp)
