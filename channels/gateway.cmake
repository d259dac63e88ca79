# Sources of the gateway (owned by the gateway component).
target_sources(teller_channels PRIVATE src/placeholder.cpp)  # replaced by the gateway component
