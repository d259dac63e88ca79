# Sources of the store component (owned by that component): the in-memory and Redis session stores.
target_sources(teller_core PRIVATE
    src/store/session_store.cpp
    src/store/memory_session_store.cpp
    src/store/redis_url.cpp
    src/store/redis_session_store.cpp)
