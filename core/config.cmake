# Sources of the config component (owned by that component).
target_sources(teller_core PRIVATE src/config.cpp)
